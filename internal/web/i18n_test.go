package web

import (
	"github.com/paygate/paygate/internal/channel"
	"maps"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"
)

func TestEveryTextIsTranslated(t *testing.T) {
	t.Parallel()
	for _, tx := range []*texts{english, chinese} {
		v := reflect.ValueOf(*tx)
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String && f.String() == "" {
				t.Errorf("%s: %s is empty", tx.Lang, v.Type().Field(i).Name)
			}
		}
	}
	en, zh := slices.Sorted(maps.Keys(english.Notices)), slices.Sorted(maps.Keys(chinese.Notices))
	if !slices.Equal(en, zh) {
		t.Errorf("notices differ: en %v, zh %v", en, zh)
	}
	for _, method := range channel.MethodNames() { // every method of the table has a label
		for _, tx := range []*texts{english, chinese} {
			if l := labelOf(method, tx); l.Brand == "other" || l.Name == "" || l.Detail == "" || l.Glyph == "" {
				t.Errorf("%s: %s is labelled %+v", tx.Lang, method, l)
			}
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ accept, query, want string }{
		{"", "", "en"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "", "zh"},
		{"zh-TW", "", "zh"},
		{"en-GB,zh;q=0.5", "", "en"},
		{"fr-FR,zh;q=0.6,en;q=0.4", "", "zh"},
		{"de-DE", "", "en"},
		{"zh-CN", "lang=en", "en"},
		{"en", "lang=zh", "zh"},
		{"en", "lang=xx", "en"},
	} {
		r := httptest.NewRequest("GET", "/pay/ord_x?"+tc.query, nil)
		r.Header.Set("Accept-Language", tc.accept)
		if got := textsFor(r).Lang; got != tc.want {
			t.Errorf("Accept-Language %q, query %q: %s, want %s", tc.accept, tc.query, got, tc.want)
		}
	}
}

func TestCountdownFormat(t *testing.T) {
	t.Parallel()
	for s, want := range map[int64]string{0: "0:00", 9: "0:09", 900: "15:00", 3599: "59:59", 3600: "1:00:00", 86400: "24:00:00"} {
		if got := countdown(s); got != want {
			t.Errorf("countdown(%d) = %s, want %s", s, got, want)
		}
	}
}
