package radius

// The Reply-Messages a gateway shows to the person signing in, in the
// languages of the portal. They are sent only once the password is known
// to be right (or on an accept), so the language, which comes from the
// user's account, tells nothing about whether an account exists.
var messages = map[string]map[string]string{
	"en": {
		msgAskCode:    "Enter the one-time code from your authenticator app. To get a code by email instead, leave it empty.",
		msgAskAppCode: "Enter the one-time code from your authenticator app.",
		msgMailed:     "A one-time code was mailed to you. Enter it here.",
		msgTooSoon:    "A code was mailed a moment ago. Enter it, or wait a little before asking for another.",
		msgAccepted:   "Signed in with Twofold.",
	},
	"nl": {
		msgAskCode:    "Voer de eenmalige code uit je authenticator-app in. Laat het veld leeg om een code per e-mail te krijgen.",
		msgAskAppCode: "Voer de eenmalige code uit je authenticator-app in.",
		msgMailed:     "Er is een eenmalige code naar je gemaild. Voer die hier in.",
		msgTooSoon:    "Er is net een code gemaild. Voer die in, of wacht even voordat je een nieuwe vraagt.",
		msgAccepted:   "Aangemeld met Twofold.",
	},
	"de": {
		msgAskCode:    "Geben Sie den Einmalcode aus Ihrer Authenticator-App ein. Lassen Sie das Feld leer, um einen Code per E-Mail zu erhalten.",
		msgAskAppCode: "Geben Sie den Einmalcode aus Ihrer Authenticator-App ein.",
		msgMailed:     "Ein Einmalcode wurde Ihnen per E-Mail gesendet. Geben Sie ihn hier ein.",
		msgTooSoon:    "Gerade wurde ein Code gesendet. Geben Sie ihn ein, oder warten Sie kurz, bevor Sie einen neuen anfordern.",
		msgAccepted:   "Mit Twofold angemeldet.",
	},
}

const (
	msgAskCode    = "ask-code"
	msgAskAppCode = "ask-app-code"
	msgMailed     = "mailed"
	msgTooSoon    = "too-soon"
	msgAccepted   = "accepted"
)

// message returns the text of key in lang, or in English.
func message(lang, key string) string {
	if m, ok := messages[lang]; ok {
		return m[key]
	}
	return messages["en"][key]
}
