package authapp_test

import (
	"context"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"github.com/twofold-mfa/twofold/internal/page/pagetest"
)

// A Web Push message reaching the service worker is shown as a
// notification in the app's language, naming the organization and the
// application. Chromium here reaches no push service, so DevTools
// delivers the message (ServiceWorker.deliverPushMessage), decrypted as
// the browser would hand it over.
func TestServiceWorkerShowsPushNotification(t *testing.T) {
	srv := newServer(t)
	tab := pagetest.Browser(t)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	regs := make(chan serviceworker.RegistrationID, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range e.Registrations {
				if !r.IsDeleted {
					select {
					case regs <- r.RegistrationID:
					default:
					}
				}
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/app/"),
		chromedp.WaitVisible(chromedp.CSS("#screen-list")),
		chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: srv.URL}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tab, serviceworker.Enable, cdp.Empty{})
			return err
		}),
		chromedp.SetValue(chromedp.CSS("#lang"), "de"),
	)
	if err != nil {
		t.Fatal(err)
	}
	run[bool](t, ctx, `return document.getElementById("lang").dispatchEvent(new Event("change"))`)
	// The language is kept where the service worker reads it.
	run[bool](t, ctx, `for (let i = 0; i < 100; i++) {
		const r = await (await caches.open("twofold-settings")).match("lang");
		if (r && await r.text() === "de") return true;
		await new Promise((ok) => setTimeout(ok, 50));
	}
	throw new Error("the language was not kept");`)
	run[bool](t, ctx, `await navigator.serviceWorker.ready; return true`)
	var reg serviceworker.RegistrationID
	select {
	case reg = <-regs:
	case <-ctx.Done():
		t.Fatal("DevTools told of no service worker registration")
	}
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{Origin: srv.URL, RegistrationID: reg,
			Data: `{"org":"Acme Corp","application":"portal","request_id":"r-1","expires_at":"2026-12-01T10:02:00Z"}`})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	type shown struct{ Title, Body, Tag string }
	got := run[[]shown](t, ctx, `for (let i = 0; i < 100; i++) {
		const ns = await (await navigator.serviceWorker.ready).getNotifications();
		if (ns.length > 0) return ns.map((n) => ({ Title: n.title, Body: n.body, Tag: n.tag }));
		await new Promise((ok) => setTimeout(ok, 50));
	}
	return [];`)
	de := catalogue(t, "de")
	want := shown{Title: de["notify.title"], Body: "Acme Corp: " + de["push.app_portal"] + ". Öffnen Sie die App, um zu antworten.", Tag: "twofold-r-1"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("notifications %+v, want %+v", got, want)
	}
}
