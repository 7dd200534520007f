package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// formState is what a scripted sign-in has done so far.
type formState struct {
	submits   int
	continues int
	// doc is the document last submitted, and errBefore the error text it
	// showed then: the same document with a new error text is a refusal
	// shown without a page load.
	doc       string
	errBefore string
}

// fillForms acts on one look at the page in Scripted mode.
func (s *signIn) fillForms(st pageState, f *formState) error {
	if f.doc != "" && st.Doc == f.doc {
		// The submitted page is still showing.
		if st.Error != "" && st.Error != f.errBefore {
			return s.refused(st.Error)
		}
		return nil
	}
	if !st.signInForm() {
		if st.Continue {
			return s.pressContinue(st, f)
		}
		return nil // a redirect or an intermediate page: wait
	}
	if f.submits > 0 && st.Error != "" {
		return s.refused(st.Error)
	}
	if f.submits >= DefaultMaxSubmits {
		return &SignInError{Reason: fmt.Sprintf("the sign-in form came back %d times without saying why (the browser shows %s): check the credentials and the form selectors (--username-selector and the others)", f.submits, st.where())}
	}
	c := s.o.Credentials
	var last, submit string
	switch {
	case st.Code:
		if c.Code == "" {
			return &SignInError{Reason: "the portal asks for a one-time code: set ACTIVATOR_OTP or pass --otp-stdin"}
		}
		if err := s.fill(s.sel.Code, c.Code, "one-time code"); err != nil {
			return err
		}
		last = s.sel.Code
		if st.CodeSubmit {
			submit = s.sel.CodeSubmit
		}
	default:
		if st.User {
			if err := s.fill(s.sel.Username, c.Username, "username"); err != nil {
				return err
			}
			last = s.sel.Username
		}
		if st.Pass {
			if err := s.fill(s.sel.Password, c.Password, "password"); err != nil {
				return err
			}
			last = s.sel.Password
		}
		if st.Submit {
			submit = s.sel.Submit
		}
	}
	f.submits++
	f.doc, f.errBefore = st.Doc, st.Error
	var err error
	if submit != "" {
		err = s.step(chromedp.Click(chromedp.CSS(submit)))
	} else {
		err = s.step(chromedp.SendKeys(chromedp.CSS(last), "\r"))
	}
	if err != nil {
		if s.bctx.Err() != nil {
			return s.ended(err)
		}
		return fmt.Errorf("submit the sign-in form on %s: %w", st.Path, err)
	}
	return nil
}

// pressContinue presses the Continue button of a page between the sign-in
// and the portal (a notice, a consent page), once per page and at most
// DefaultMaxSubmits times in all.
func (s *signIn) pressContinue(st pageState, f *formState) error {
	if f.continues >= DefaultMaxSubmits {
		return &SignInError{Reason: fmt.Sprintf("pressed Continue %d times and the browser still shows %s: pass --continue-selector for the button that leads to the portal", f.continues, st.where())}
	}
	f.continues++
	f.doc, f.errBefore = st.Doc, st.Error
	s.o.Logf("Pressing Continue on %s ...", st.where())
	ctx, cancel := context.WithTimeout(s.bctx, DefaultStepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(clickContinueJS, s.config()))); err != nil {
		if s.bctx.Err() != nil {
			return s.ended(err)
		}
		// The page went away while pressing: the next look tells.
	}
	return nil
}

// clearJS empties the first input matching a selector (given as a JSON
// string), so typing starts from nothing even when the page pre-filled it.
const clearJS = `(() => {
  const el = document.querySelector(%s);
  if (!el) return false;
  el.value = '';
  el.dispatchEvent(new Event('input', {bubbles: true}));
  return true;
})()`

// fill types value into the input sel with real key events, as a person
// would, so scripts of the page see ordinary typing; what names the input in
// an error.
func (s *signIn) fill(sel, value, what string) error {
	quoted, _ := json.Marshal(sel)
	err := s.step(
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(clearJS, quoted)),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
	if err != nil {
		if s.bctx.Err() != nil {
			return s.ended(err)
		}
		return fmt.Errorf("fill the %s: %w", what, err)
	}
	return nil
}

// refused is the portal's refusal, quoting its message.
func (s *signIn) refused(msg string) error {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > MaxMessageLen {
		msg = msg[:MaxMessageLen] + "..."
	}
	return &SignInError{Reason: "the portal said: " + msg}
}
