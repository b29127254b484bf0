package console

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/bojanz/currency"
	"golang.org/x/text/language"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/money"
)

// texts are the console's words in one language. English is the key: T
// returns the Chinese of an English phrase from the zh table (a test checks
// every phrase the templates use is in it).
type texts struct {
	Lang, HTMLLang, Other, OtherLabel string
	words                             map[string]string
}

var (
	english = &texts{Lang: "en", HTMLLang: "en", Other: "zh", OtherLabel: "中文"}
	chinese = &texts{Lang: "zh", HTMLLang: "zh-CN", Other: "en", OtherLabel: "English", words: zhWords}
)

var languages = language.NewMatcher([]language.Tag{language.English, language.Chinese})

// translator picks the user's language: the lang parameter when it names
// one, else the best match of Accept-Language, else English.
func translator(r *http.Request) *texts {
	switch r.URL.Query().Get("lang") {
	case "zh":
		return chinese
	case "en":
		return english
	}
	if c, err := r.Cookie("paygate_lang"); err == nil {
		switch c.Value {
		case "zh":
			return chinese
		case "en":
			return english
		}
	}
	if _, i := language.MatchStrings(languages, r.Header.Get("Accept-Language")); i == 1 {
		return chinese
	}
	return english
}

// T translates an English phrase.
func (t *texts) T(s string) string {
	if t.words != nil {
		if w, ok := t.words[s]; ok {
			return w
		}
	}
	return s
}

// F translates a format and fills it.
func (t *texts) F(format string, args ...any) string { return fmt.Sprintf(t.T(format), args...) }

// Message is an error's text for the user: the table's when it has the
// code, else the error's own English message.
func (t *texts) Message(err error) string {
	e := errs.As(err)
	if e.Kind == errs.KindInternal {
		return t.T("Something went wrong. Please try again.")
	}
	if t.words != nil {
		if w, ok := t.words["code:"+e.Code]; ok {
			return w
		}
	}
	return e.Message
}

// Money formats minor units of code in the language's currency format
// (CLDR via bojanz/currency): "CN¥25.99" in English, "¥25.99" in Chinese.
func (t *texts) Money(n int64, code string) string {
	a, err := currency.NewAmountFromInt64(n, code)
	if err != nil {
		return money.Format(n, code) + " " + code
	}
	return currency.NewFormatter(currency.NewLocale(t.Lang)).Format(a)
}

// Time renders t for a <time> element: its text is UTC, which the page's
// script rewrites in the viewer's own zone.
func (t *texts) Time(at time.Time) template.HTML {
	if at.IsZero() {
		return ""
	}
	u := at.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339Nano) + `">` + u.Format("2006-01-02 15:04:05") + ` UTC</time>`)
}

// Status is an order, refund or delivery status in the language.
func (t *texts) Status(s string) string { return t.T("status:" + s) }

// The English of a status, class or action key is the key's word
// ("status:succeeded" → "succeeded", "class:channel_only" → "channel only").
func init() {
	for k := range zhWords {
		for _, prefix := range []string{"status:", "class:", "action:", "sort:"} {
			if strings.HasPrefix(k, prefix) {
				if _, ok := enWords[k]; !ok {
					enWords[k] = strings.ReplaceAll(strings.TrimPrefix(k, prefix), "_", " ")
				}
			}
		}
	}
	english.words = enWords
}

// enWords are the few English phrases that differ from their keys.
var enWords = map[string]string{
	"sort:newest": "newest first", "sort:oldest": "oldest first",
	"sort:amount_desc": "amount, high to low", "sort:amount_asc": "amount, low to high",
	"scope:both": "test and live", "scope:test": "test only", "scope:live": "live only",
}
