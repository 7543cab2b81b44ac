package radius

// The Reply-Messages a gateway shows to the person signing in, in the
// languages of the portal. They are sent only once the password is known
// to be right (or on an accept), so the language, which comes from the
// user's account, tells nothing about whether an account exists.
var messages = map[string]map[string]string{
	"en": {
		msgAskCode:          "Enter the one-time code from your authenticator app. To get a code by email instead, leave it empty.",
		msgAskAppCode:       "Enter the one-time code from your authenticator app.",
		msgMailed:           "A one-time code was mailed to you. Enter it here.",
		msgTooSoon:          "A code was mailed a moment ago. Enter it, or wait a little before asking for another.",
		msgAccepted:         "Signed in with Twofold.",
		msgAskCodePush:      "Enter the one-time code from your authenticator app, or leave it empty to approve the sign-in in Twofold Authenticator.",
		msgAskCodePushEmail: "Enter the one-time code from your authenticator app. Leave it empty to approve the sign-in in Twofold Authenticator, or type e to get a code by email.",
		msgPushNumber:       "Pick %d in Twofold Authenticator to approve the sign-in, then continue with the field left empty.",
		msgPushTypeCode:     "No approval request can be sent to Twofold Authenticator now. Enter the one-time code from your authenticator app instead.",
	},
	"nl": {
		msgAskCode:          "Voer de eenmalige code uit je authenticator-app in. Laat het veld leeg om een code per e-mail te krijgen.",
		msgAskAppCode:       "Voer de eenmalige code uit je authenticator-app in.",
		msgMailed:           "Er is een eenmalige code naar je gemaild. Voer die hier in.",
		msgTooSoon:          "Er is net een code gemaild. Voer die in, of wacht even voordat je een nieuwe vraagt.",
		msgAccepted:         "Aangemeld met Twofold.",
		msgAskCodePush:      "Voer de eenmalige code uit je authenticator-app in, of laat het veld leeg om de aanmelding in Twofold Authenticator goed te keuren.",
		msgAskCodePushEmail: "Voer de eenmalige code uit je authenticator-app in. Laat het veld leeg om de aanmelding in Twofold Authenticator goed te keuren, of typ e voor een code per e-mail.",
		msgPushNumber:       "Kies %d in Twofold Authenticator om de aanmelding goed te keuren, en ga daarna verder met een leeg veld.",
		msgPushTypeCode:     "Er kan nu geen verzoek naar Twofold Authenticator worden gestuurd. Voer in plaats daarvan de eenmalige code uit je authenticator-app in.",
	},
	"de": {
		msgAskCode:          "Geben Sie den Einmalcode aus Ihrer Authenticator-App ein. Lassen Sie das Feld leer, um einen Code per E-Mail zu erhalten.",
		msgAskAppCode:       "Geben Sie den Einmalcode aus Ihrer Authenticator-App ein.",
		msgMailed:           "Ein Einmalcode wurde Ihnen per E-Mail gesendet. Geben Sie ihn hier ein.",
		msgTooSoon:          "Gerade wurde ein Code gesendet. Geben Sie ihn ein, oder warten Sie kurz, bevor Sie einen neuen anfordern.",
		msgAccepted:         "Mit Twofold angemeldet.",
		msgAskCodePush:      "Geben Sie den Einmalcode aus Ihrer Authenticator-App ein, oder lassen Sie das Feld leer, um die Anmeldung in Twofold Authenticator zu bestätigen.",
		msgAskCodePushEmail: "Geben Sie den Einmalcode aus Ihrer Authenticator-App ein. Lassen Sie das Feld leer, um die Anmeldung in Twofold Authenticator zu bestätigen, oder geben Sie e für einen Code per E-Mail ein.",
		msgPushNumber:       "Wählen Sie %d in Twofold Authenticator, um die Anmeldung zu bestätigen, und fahren Sie dann mit leerem Feld fort.",
		msgPushTypeCode:     "Derzeit kann keine Anfrage an Twofold Authenticator gesendet werden. Geben Sie stattdessen den Einmalcode aus Ihrer Authenticator-App ein.",
	},
}

const (
	msgAskCode    = "ask-code"
	msgAskAppCode = "ask-app-code"
	msgMailed     = "mailed"
	msgTooSoon    = "too-soon"
	msgAccepted   = "accepted"

	msgAskCodePush      = "ask-code-push"
	msgAskCodePushEmail = "ask-code-push-email"
	msgPushNumber       = "push-number" // %d: the number to pick
	msgPushTypeCode     = "push-type-code"
)

// message returns the text of key in lang, or in English.
func message(lang, key string) string {
	if m, ok := messages[lang]; ok {
		return m[key]
	}
	return messages["en"][key]
}
