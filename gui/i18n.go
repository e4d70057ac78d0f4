package gui

import (
	"embed"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"imagebeam/internal/human"
)

// The window's languages: one go-i18n JSON file each in translations/,
// named for its language (en.json, zh_Hans.json) and embedded in the
// binary. A file holds every sentence the window shows, the words of
// Fyne's own widgets included (see fyneLanguages), so adding a language
// is adding a file.
//
//go:embed translations/*.json
var translationFiles embed.FS

const (
	langEnglish = "en"      // the fallback, and what Copy and saved logs use
	langChinese = "zh_Hans" // Simplified Chinese
)

// languageEnv overrides the settings file and the system: "en" or "zh_Hans".
const languageEnv = "IMAGEBEAM_LANG"

// words is one language's sentences.
type words struct {
	tag string // a file's name without .json: "en", "zh_Hans"
	loc func() *i18n.Localizer
}

// args fills a sentence's {{.Name}} placeholders.
type args map[string]any

var (
	// translations parses the files on first use, not at start: the
	// headless commands, which link this package, never do.
	translations = sync.OnceValues(loadTranslations)
	// english writes what leaves the window for developers and scripts:
	// error details, the copied and the saved event log.
	english = newWords(langEnglish)
	// ui is the window's language, set by useLanguage before the window
	// is built; English until then.
	ui = english
)

// loadTranslations parses every file in translations/. A file that does
// not parse fails the tests, so it cannot reach a release.
func loadTranslations() (*i18n.Bundle, map[string][]byte) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	data := map[string][]byte{}
	files, _ := fs.Glob(translationFiles, "translations/*.json")
	for _, f := range files {
		raw, err := translationFiles.ReadFile(f)
		if err == nil {
			_, err = b.ParseMessageFileBytes(raw, f)
		}
		if err != nil {
			fyne.LogError("Cannot read the translation file "+f, err)
			continue
		}
		data[strings.TrimSuffix(path.Base(f), ".json")] = raw
	}
	return b, data
}

func newWords(tag string) *words {
	return &words{tag: tag, loc: sync.OnceValue(func() *i18n.Localizer {
		bundle, _ := translations()
		return i18n.NewLocalizer(bundle, tag)
	})}
}

// translationData is each language's file, by tag.
func translationData() map[string][]byte {
	_, data := translations()
	return data
}

// languageTags are the window's languages, English first.
func languageTags() []string {
	var tags []string
	for t := range translationData() {
		if t != langEnglish {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return append([]string{langEnglish}, tags...)
}

// t is key's sentence with a's values in its placeholders. A key missing
// from this language takes the English sentence, and one missing from
// English too shows the key (the tests make sure none is).
func (w *words) t(key string, a ...args) string {
	var data map[string]any
	if len(a) > 0 {
		data = a[0]
	}
	s, err := w.loc().Localize(&i18n.LocalizeConfig{MessageID: key, TemplateData: data})
	if s == "" && err != nil {
		return key
	}
	return s
}

// n is key's sentence in its plural form for count, which also fills its
// {{.Count}}.
func (w *words) n(key string, count int, a ...args) string {
	data := map[string]any{"Count": count}
	if len(a) > 0 {
		for k, v := range a[0] {
			data[k] = v
		}
	}
	s, err := w.loc().Localize(&i18n.LocalizeConfig{MessageID: key, PluralCount: count, TemplateData: data})
	if s == "" && err != nil {
		return key
	}
	return s
}

// hasKey reports whether the translation files have key (English has
// every key).
func hasKey(key string) bool {
	_, err := english.loc().Localize(&i18n.LocalizeConfig{MessageID: key})
	return err == nil
}

// tr is key's sentence in the window's language. Every text the window
// shows comes from tr or trn: TestWidgetTextIsTranslated finds text that
// does not.
func tr(key string, a ...args) string { return ui.t(key, a...) }

// trn is key's sentence in the window's language, in its plural form for
// count.
func trn(key string, count int, a ...args) string { return ui.n(key, count, a...) }

// size writes a byte count: human.Bytes's number and units, the same in
// every language, with the word for bytes below 1 KiB in w's.
func (w *words) size(n int64) string {
	if n > -1024 && n < 1024 {
		return w.n("unit.bytes", int(n))
	}
	return human.Bytes(n)
}

// rate writes bytes per second, "–" while it is not known.
func (w *words) rate(bytesPerSecond float64) string {
	if bytesPerSecond > 0 && bytesPerSecond < 1024 {
		return w.t("unit.per_second", args{"Size": w.size(int64(bytesPerSecond))})
	}
	return human.Rate(bytesPerSecond)
}

func sizeText(n int64) string           { return ui.size(n) }
func rateText(perSecond float64) string { return ui.rate(perSecond) }

// useLanguage makes tag the window's language, for its own words and for
// Fyne's (dialog buttons, file dialogs, the entry's menu); a tag without a
// file means English. Call it before the window is built: widgets keep the
// words they were made with.
func useLanguage(tag string) {
	if _, ok := translationData()[tag]; !ok {
		tag = langEnglish
	}
	ui = newWords(tag)
	for _, l := range fyneLanguages {
		if err := lang.AddTranslationsForLocale(translationData()[tag], fyne.Locale(l)); err != nil {
			fyne.LogError("Cannot give Fyne the "+tag+" translation", err)
		}
	}
}

// fyneLanguages are the translations Fyne 2.7.1 ships
// (fyne.io/fyne/v2/lang/translations). Fyne speaks one of them, or
// English, as the system's languages say, and has no call to choose
// another. So useLanguage loads the window's language file, which
// translates Fyne's words too, under every one of them: whichever Fyne
// picks speaks the window's language. TestFyneLanguagesAreAllCovered
// compares this list with Fyne's files.
var fyneLanguages = []string{"cs", "de", "el", "en", "es", "fr", "pl", "pt", "pt_BR", "ru", "sv", "ta", "uk", "zh_Hans"}

// chooseLanguage is the window's language: IMAGEBEAM_LANG, else the
// settings file's choice, else the first of the system's languages that
// the window speaks, else English.
func chooseLanguage(env, saved string, system []string) string {
	for _, want := range append([]string{env, saved}, system...) {
		if tag, ok := matchLanguage(want); ok {
			return tag
		}
	}
	return langEnglish
}

// matchLanguage finds the window's language for a BCP 47 tag or a POSIX
// locale name ("zh-CN", "zh_CN.UTF-8", "zh_Hans", "en-GB"). Another
// script of a language (zh-TW is Traditional Chinese) is no match.
func matchLanguage(name string) (string, bool) {
	name, _, _ = strings.Cut(name, ".")
	name, _, _ = strings.Cut(name, "@")
	if name == "" {
		return "", false
	}
	want, err := language.Parse(strings.ReplaceAll(name, "_", "-"))
	if err != nil {
		return "", false
	}
	tags := languageTags()
	supported := make([]language.Tag, len(tags))
	for i, t := range tags {
		supported[i] = language.Make(strings.ReplaceAll(t, "_", "-"))
	}
	_, i, conf := language.NewMatcher(supported).Match(want)
	if conf < language.High {
		return "", false
	}
	return tags[i], true
}

// startLanguage picks the window's language at start and uses it: forced
// (a test's), else as chooseLanguage says.
func startLanguage(forced, saved string) {
	tag := forced
	if tag == "" {
		tag = chooseLanguage(os.Getenv(languageEnv), saved, systemLanguages())
	}
	useLanguage(tag)
}

// languageName is how a language calls itself: "English", "简体中文".
func languageName(tag string) string { return newWords(tag).t("language.name") }
