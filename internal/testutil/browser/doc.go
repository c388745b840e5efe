// Package browser starts Debian's Chromium, headless, for end-to-end tests
// driven with chromedp.
//
// Start with [New], which returns a chromedp context on a fresh browser whose
// shutdown is registered with t.Cleanup:
//
//	ctx := browser.New(t)
//	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
//		t.Fatal(err)
//	}
//	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
//	browser.Screenshot(t, ctx, "after-login")
//
// Chromium must be installed (`make deps` installs Debian's package); a test
// that needs it fails, never skips, when it is missing. The browser gets a
// fixed, small set of flags that keep it off the network (see [New]), so
// pages should only talk to servers on 127.0.0.1.
//
// It is a test helper: import it only from _test.go files.
package browser
