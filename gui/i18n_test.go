package gui

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"unicode"

	"fyne.io/fyne/v2/lang"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/transfer"
)

// translationFile is one translation file: key → plural form → text.
type translationFile map[string]map[string]string

func readTranslations(t *testing.T, tag string) translationFile {
	t.Helper()
	raw, err := translationFiles.ReadFile("translations/" + tag + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]any
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatalf("%s.json: %v", tag, err)
	}
	out := translationFile{}
	for key, v := range msgs {
		forms := map[string]string{}
		switch v := v.(type) {
		case string:
			forms["other"] = v
		case map[string]any:
			for form, text := range v {
				if form != "description" {
					forms[form] = text.(string)
				}
			}
		}
		out[key] = forms
	}
	return out
}

var placeholderRE = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

// placeholders are the {{.Name}}s of all of a message's forms.
func placeholders(forms map[string]string) []string {
	set := map[string]bool{}
	for _, text := range forms {
		for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
			set[m[1]] = true
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Every language has exactly English's keys, the same placeholders in each
// sentence, templates that parse, and the plural forms its language needs
// (Chinese has one, "other"; English "one" and "other").
func TestTranslationFilesAgree(t *testing.T) {
	en := readTranslations(t, langEnglish)
	if len(languageTags()) < 2 || languageTags()[0] != langEnglish {
		t.Fatalf("languages = %v", languageTags())
	}
	for _, tag := range languageTags() {
		tf := readTranslations(t, tag)
		for key, forms := range tf {
			enForms, ok := en[key]
			if !ok {
				t.Errorf("%s.json: %q is not in en.json", tag, key)
				continue
			}
			if got, want := placeholders(forms), placeholders(enForms); !slices.Equal(got, want) {
				t.Errorf("%s.json: %q has the placeholders %v, English %v", tag, key, got, want)
			}
			if _, ok := forms["other"]; !ok {
				t.Errorf("%s.json: %q has no \"other\" form", tag, key)
			}
			if len(enForms) > 1 && tag == langEnglish {
				if _, ok := forms["one"]; !ok {
					t.Errorf("en.json: plural %q has no \"one\" form", key)
				}
			}
			for form, text := range forms {
				if _, err := template.New(key).Parse(text); err != nil {
					t.Errorf("%s.json: %q (%s): %v", tag, key, form, err)
				}
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s.json: %q (%s) is empty", tag, key, form)
				}
			}
		}
		for key := range en {
			if _, ok := tf[key]; !ok {
				t.Errorf("%s.json lacks %q", tag, key)
			}
		}
	}
}

// windowCode parses the window's Go files, tests left out.
func windowCode(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatal("no Go files")
	}
	return fset, files
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// calleeName is a call's function as written: "tr", "w.t", "widget.NewLabel".
func calleeName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
		return "." + f.Sel.Name
	}
	return ""
}

// translating are the functions whose first argument is a key.
func translating(call *ast.CallExpr) bool {
	switch name := calleeName(call); {
	case slices.Contains([]string{"tr", "trn", "newError", "wrapError", "hasKey"}, name):
		return true
	case strings.HasSuffix(name, ".t"), strings.HasSuffix(name, ".n"):
		return true
	}
	return false
}

// usedKeys are the translation keys the window's code names: the first
// argument of tr, trn, newError, wrapError and words.t/n, and the "key"
// and "field" columns of tables such as errorKinds.
func usedKeys(t *testing.T) map[string]token.Position {
	fset, files := windowCode(t)
	used := map[string]token.Position{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if translating(n) && len(n.Args) > 0 {
					if key, ok := stringLit(n.Args[0]); ok {
						used[key] = fset.Position(n.Pos())
					}
				}
			case *ast.CompositeLit:
				arr, ok := n.Type.(*ast.ArrayType)
				if !ok {
					return true
				}
				st, ok := arr.Elt.(*ast.StructType)
				if !ok {
					return true
				}
				var cols []int
				i := 0
				for _, fl := range st.Fields.List {
					for _, name := range fl.Names {
						if name.Name == "key" || name.Name == "field" {
							cols = append(cols, i)
						}
						i++
					}
				}
				for _, el := range n.Elts {
					row, ok := el.(*ast.CompositeLit)
					if !ok {
						continue
					}
					for _, c := range cols {
						if c < len(row.Elts) {
							if key, ok := stringLit(row.Elts[c]); ok {
								used[key] = fset.Position(row.Pos())
							}
						}
					}
				}
			}
			return true
		})
	}
	return used
}

// fyneTranslations is where Fyne's own translation files are.
func fyneTranslations(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "fyne.io/fyne/v2").Output()
	if err != nil {
		t.Fatalf("go list -m fyne.io/fyne/v2: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "lang", "translations")
}

// Every key the code names is in the files, and every key of the files is
// named by the code, is one of Fyne's own (its widgets look them up) or
// belongs to the desktop file (TestDesktopFileIsTranslated reads it).
func TestEveryKeyIsUsedAndEveryUsedKeyExists(t *testing.T) {
	en := readTranslations(t, langEnglish)
	used := usedKeys(t)
	for key, at := range used {
		if _, ok := en[key]; !ok {
			t.Errorf("%s: %q is in no translation file", at, key)
		}
	}
	raw, err := os.ReadFile(filepath.Join(fyneTranslations(t), "base.en.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fyneKeys map[string]any
	if err := json.Unmarshal(raw, &fyneKeys); err != nil {
		t.Fatal(err)
	}
	for key := range en {
		_, byCode := used[key]
		_, byFyne := fyneKeys[key]
		if !byCode && !byFyne && !strings.HasPrefix(key, "desktop.") {
			t.Errorf("en.json: %q is used nowhere", key)
		}
	}
	if len(used) < 100 {
		t.Errorf("found only %d keys in the code", len(used))
	}
}

// Fyne's widgets (dialog buttons, the file dialogs, the entry's menu)
// speak the window's language whichever language Fyne picks from the
// system: useLanguage loads the window's file under each of Fyne's, and
// the files hold all of Fyne's words.
func TestFyneLanguagesAreAllCovered(t *testing.T) {
	dir := fyneTranslations(t)
	files, err := filepath.Glob(filepath.Join(dir, "base.*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("Fyne's translations in %s: %v", dir, err)
	}
	var tags []string
	for _, f := range files {
		tags = append(tags, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "base."), ".json"))
	}
	sort.Strings(tags)
	if !slices.Equal(tags, fyneLanguages) {
		t.Errorf("Fyne ships %v, fyneLanguages says %v", tags, fyneLanguages)
	}
	var fyneKeys map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "base.en.json"))
	if err := json.Unmarshal(raw, &fyneKeys); err != nil {
		t.Fatal(err)
	}
	en := readTranslations(t, langEnglish)
	for key := range fyneKeys {
		if _, ok := en[key]; !ok {
			t.Errorf("en.json lacks Fyne's %q", key)
		}
	}
}

// With the system in French, which Fyne has a translation for, Fyne's own
// words still follow the window's language.
func TestFyneWordsFollowTheWindowsLanguage(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "fr_FR.UTF-8")
	t.Setenv("LANGUAGE", "fr")
	for _, c := range []struct{ tag, cancel, ok string }{
		{langChinese, "取消", "确定"},
		{langEnglish, "Cancel", "OK"},
	} {
		useLanguage(c.tag)
		if got := lang.L("Cancel"); got != c.cancel {
			t.Errorf("%s: Fyne's Cancel is %q, want %q", c.tag, got, c.cancel)
		}
		if got := lang.L("OK"); got != c.ok {
			t.Errorf("%s: Fyne's OK is %q, want %q", c.tag, got, c.ok)
		}
	}
}

// textSinks are the calls whose string arguments the window shows, besides
// every function of Fyne's packages but these.
var (
	textMethods = []string{"SetText", "SetPlaceHolder", "SetTitle", "SetConfirmText", "SetDismissText", "SetOptions",
		"SetSelected", "Append", "NewWindow", "SendNotification", "notify", "say", "setBusy"}
	textFuncs     = []string{"newEntry", "errors.New", "fmt.Errorf"}
	notText       = []string{"fyne.NewStaticResource", "fyne.LogError", "fyne.NewSize", "fyne.NewPos", "fyne.NewSquareSize", "fyne.Locale"}
	notTextPkgs   = []string{"storage", "theme", "lang"}
	textFields    = []string{"Text", "PlaceHolder", "Title"}
	untranslated  = []string{"ImageBeam"} // the product's name
	dataConstants = []string{
		"simToDevice", "simFromDevice", // topic names, put into sentences
		"languageEnv", // an environment variable's name
	}
)

// TestWidgetTextIsTranslated finds string literals (and constants) with
// words in them that reach a widget, a dialog, a notification or an error
// without going through tr: in the arguments of Fyne's functions and of the
// methods that set text, in assignments to Text fields, in the values of a
// sentence's placeholders, and in concatenations and Sprintf calls of any
// of these.
func TestWidgetTextIsTranslated(t *testing.T) {
	fset, files := windowCode(t)
	consts := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[name.Name] = s
						}
					}
				}
			}
		}
	}
	hasWords := func(s string) bool {
		return strings.IndexFunc(s, unicode.IsLetter) >= 0 && !slices.Contains(untranslated, s)
	}
	reported := map[token.Pos]bool{}
	report := func(pos token.Pos, format string, a ...any) {
		if !reported[pos] {
			reported[pos] = true
			t.Errorf("%s: "+format, append([]any{fset.Position(pos)}, a...)...)
		}
	}
	found := 0
	for _, f := range files {
		fynePkgs := map[string]bool{}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, "fyne.io/fyne/v2") {
				continue
			}
			name := filepath.Base(path)
			if path == "fyne.io/fyne/v2" {
				name = "fyne"
			}
			if imp.Name != nil {
				name = imp.Name.Name
			}
			if !slices.Contains(notTextPkgs, name) {
				fynePkgs[name] = true
			}
		}
		// check reports the words in e that did not go through tr.
		var check func(e ast.Expr)
		check = func(e ast.Expr) {
			switch e := e.(type) {
			case *ast.BasicLit:
				if s, ok := stringLit(e); ok && hasWords(s) {
					report(e.Pos(), "%q is shown without tr: add it to the translation files", s)
				}
			case *ast.Ident:
				if s, ok := consts[e.Name]; ok && hasWords(s) && !slices.Contains(dataConstants, e.Name) {
					report(e.Pos(), "the constant %s (%q) is shown without tr", e.Name, s)
				}
			case *ast.BinaryExpr:
				check(e.X)
				check(e.Y)
			case *ast.ParenExpr:
				check(e.X)
			case *ast.CompositeLit: // args{…}, []string{…}
				for _, el := range e.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						el = kv.Value
					}
					check(el)
				}
			case *ast.CallExpr:
				switch name := calleeName(e); {
				case translating(e):
					for _, a := range e.Args[1:] {
						check(a)
					}
				case strings.HasPrefix(name, "fmt.Sprint"), name == "strings.Join", name == "string":
					for _, a := range e.Args {
						check(a)
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				name := calleeName(n)
				pkg, _, _ := strings.Cut(name, ".")
				sink := fynePkgs[pkg] && !slices.Contains(notText, name) || slices.Contains(textFuncs, name)
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && slices.Contains(textMethods, sel.Sel.Name) {
					sink = true
				}
				if sink {
					found++
					for _, a := range n.Args {
						check(a)
					}
				}
				if translating(n) {
					found++
					check(n) // the placeholders' values
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && slices.Contains(textFields, sel.Sel.Name) && i < len(n.Rhs) {
						check(n.Rhs[i])
					}
				}
			}
			return true
		})
	}
	if found < 100 {
		t.Errorf("checked only %d calls", found)
	}
}

// Each sentence gets the placeholders it has, and no others, where its
// values are written out: tr("x", args{"Name": …}).
func TestSentencesGetTheirPlaceholders(t *testing.T) {
	en := readTranslations(t, langEnglish)
	fset, files := windowCode(t)
	checked := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !translating(call) || len(call.Args) == 0 {
				return true
			}
			key, ok := stringLit(call.Args[0])
			if !ok || en[key] == nil {
				return true
			}
			name := calleeName(call)
			plural := name == "trn" || strings.HasSuffix(name, ".n")
			values := call.Args[1:]
			if plural {
				values = values[1:] // the count
			}
			given := map[string]bool{}
			if len(values) > 0 {
				switch v := values[0].(type) {
				case *ast.CompositeLit:
					for _, el := range v.Elts {
						if k, ok := stringLit(el.(*ast.KeyValueExpr).Key); ok {
							given[k] = true
						}
					}
				case *ast.Ident:
					if v.Name != "nil" {
						return true // values put together elsewhere
					}
				default:
					return true
				}
			}
			if plural {
				given["Count"] = true
			}
			if name == "wrapError" {
				given["Reason"] = true // the wrapped error's sentence, when the sentence wants it
			}
			need := placeholders(en[key])
			for _, p := range need {
				if !given[p] {
					t.Errorf("%s: %q needs {{.%s}}, which the call does not give", fset.Position(call.Pos()), key, p)
				}
			}
			for p := range given {
				if !slices.Contains(need, p) && p != "Count" && p != "Reason" {
					t.Errorf("%s: %q has no {{.%s}}, which the call gives", fset.Position(call.Pos()), key, p)
				}
			}
			checked++
			return true
		})
	}
	if checked < 150 {
		t.Errorf("checked only %d sentences", checked)
	}
}

func TestChooseLanguage(t *testing.T) {
	for _, c := range []struct {
		env, saved string
		system     []string
		want       string
	}{
		{"", "", nil, langEnglish},
		{"", "", []string{"zh_CN.UTF-8"}, langChinese},
		{"", "", []string{"zh-Hans-CN"}, langChinese},
		{"", "", []string{"zh-SG"}, langChinese},
		{"", "", []string{"zh-TW"}, langEnglish}, // Traditional Chinese: not this file
		{"", "", []string{"fr", "zh_CN"}, langChinese},
		{"", "", []string{"de-DE", "en-US"}, langEnglish},
		{"", "", []string{"C"}, langEnglish},
		{"", "en", []string{"zh-CN"}, langEnglish},        // the window's choice beats the system
		{"", "zh_Hans", []string{"en-GB"}, langChinese},   // …both ways
		{"", "fr", []string{"zh-CN"}, langChinese},        // an unknown choice: the system's
		{"en", "zh_Hans", []string{"zh-CN"}, langEnglish}, // IMAGEBEAM_LANG beats both
		{"zh_Hans", "en", nil, langChinese},
		{"zh", "", nil, langChinese},
		{"klingon", "", []string{"zh-CN"}, langChinese},
	} {
		if got := chooseLanguage(c.env, c.saved, c.system); got != c.want {
			t.Errorf("IMAGEBEAM_LANG=%q, saved %q, system %v: %q, want %q", c.env, c.saved, c.system, got, c.want)
		}
	}
}

// A choice in the window is saved in the settings file and is the
// language of the next start.
func TestLanguageChoiceIsSavedForTheNextStart(t *testing.T) {
	t.Setenv(languageEnv, "")
	h := newHarness(t, nil)
	h.g.showHelp()
	pick := h.g.languagePick
	if pick == nil || pick.Selected != tr("language.system") {
		t.Fatalf("the help dialog's language choice is %v", pick)
	}
	pick.SetSelected(languageName(langChinese))
	s, err := config.Load(h.g.cfgPath)
	if err != nil || s.Language != langChinese {
		t.Fatalf("saved language %q (%v), want %q", s.Language, err, langChinese)
	}
	if ui.tag != langEnglish {
		t.Error("the running window changed its language")
	}
	h.g.Shutdown()

	again := New(newTestApp(t), Options{ConfigPath: h.g.cfgPath, DataDir: filepath.Join(h.dir, "data"), Do: h.q.do, BuiltinListen: "127.0.0.1:0"})
	t.Cleanup(again.Shutdown)
	if ui.tag != langChinese || again.preview.send.Text != "发送到“"+simName+"”" {
		t.Errorf("after the restart the window speaks %s: %q", ui.tag, again.preview.send.Text)
	}
}

// Errors from the lower layers: their sentence in the window's language,
// the English detail kept; the window's own errors are English in logs.
func TestErrorsAreWordedInTheWindowsLanguage(t *testing.T) {
	inLanguage(t, langChinese)
	for _, k := range errorKinds {
		err := fmt.Errorf("%w: a detail for developers", k.err)
		if got, want := errorText(err), tr(k.key); got != want || got == english.t(k.key) {
			t.Errorf("%v: the window says %q, want %q", k.err, got, want)
		}
		if d := errorDetail(err); !strings.Contains(d, "a detail for developers") {
			t.Errorf("%v: the detail is %q", k.err, d)
		}
		if d := errorDetail(k.err); d != "" {
			t.Errorf("the bare %v has the detail %q", k.err, d)
		}
	}
	fetch := fmt.Errorf("%w: %s answered 404 Not Found", codec.ErrFetch, "example.org")
	load := wrapError("preview.error.load", args{"Source": "a.png"}, fetch)
	if got := errorText(load); got != "无法载入 a.png：图片下载失败。" {
		t.Errorf("shown: %q", got)
	}
	if got := load.Error(); got != "Could not load a.png: codec: the URL could not be fetched: example.org answered 404 Not Found" {
		t.Errorf("logged: %q", got)
	}
	if got := errorWithDetail(load); !strings.HasSuffix(got, "\n详细信息：the URL could not be fetched: example.org answered 404 Not Found") {
		t.Errorf("with detail: %q", got)
	}
	if !errors.Is(load, codec.ErrFetch) || errorKey(load) != "preview.error.load" {
		t.Error("the window's error hides its cause")
	}
	// Something no sentence covers: the English, introduced.
	if got := errorText(errors.New("disk on fire")); got != "出错了：disk on fire" {
		t.Errorf("an unknown error: %q", got)
	}
}

// The event log shows the window's language and copies English, with the
// lower layers' own error text.
func TestEventLogShowsTheLanguageAndCopiesEnglish(t *testing.T) {
	inLanguage(t, langChinese)
	err := fmt.Errorf("%w: DATA 3 after 10 resends", transfer.ErrNoAnswer)
	for _, c := range []struct {
		ev             transfer.Event
		shown, english string
	}{
		{transfer.FrameSent{Function: transfer.FuncData, Number: 3, Bytes: 1400, Attempt: 2},
			"发送 DATA 3（1400 字节），第 2 次重发", "sent DATA 3 (1400 bytes), resend 2"},
		{transfer.Retry{Function: transfer.FuncBegin, Number: 0, Attempt: 1, Cause: transfer.CauseNAK},
			"重发 BEGIN 0：设备反馈“数据包不完整”（NAK）（第 1 次）", "retry BEGIN 0: device answered “incomplete” (NAK) (attempt 1)"},
		{transfer.Failed{Err: err, Error: err.Error()},
			"失败：设备没有应答，", "failed: transfer: device did not answer: DATA 3 after 10 resends"},
	} {
		l := logLine{c.ev}
		if got := l.shown(); !strings.Contains(got, c.shown) {
			t.Errorf("shown %q, want it to contain %q", got, c.shown)
		}
		if got := l.exported(); !strings.HasSuffix(got, "  "+c.english) {
			t.Errorf("copied %q, want it to end %q", got, c.english)
		}
	}
}

// Sizes and counts: the same numbers and units in every language, the
// words and plural forms from the files.
func TestSizesAndCountsInBothLanguages(t *testing.T) {
	for _, c := range []struct {
		tag                    string
		one, many, big, retrys string
	}{
		{langEnglish, "1 byte", "812 bytes", "1.18 MiB", "3 retries"},
		{langChinese, "1 字节", "812 字节", "1.18 MiB", "重发 3 次"},
	} {
		w := newWords(c.tag)
		if got := []string{w.size(1), w.size(812), w.size(1237319), w.n("history.row.retries", 3)}; !slices.Equal(got, []string{c.one, c.many, c.big, c.retrys}) {
			t.Errorf("%s: %q", c.tag, got)
		}
	}
	if got := newWords(langEnglish).n("history.row.retries", 1); got != "1 retry" {
		t.Errorf("one retry: %q", got)
	}
}

// The desktop file's name, generic name, comment and keywords are the
// translation files': English plain, Chinese as [zh_CN].
func TestDesktopFileIsTranslated(t *testing.T) {
	f, err := os.Open("../packaging/linux/org.imagebeam.ImageBeam.desktop")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entry := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			entry[k] = v
		}
	}
	for _, c := range []struct{ field, key string }{
		{"Name", "desktop.name"}, {"GenericName", "desktop.generic_name"}, {"Comment", "desktop.comment"}, {"Keywords", "desktop.keywords"},
	} {
		for tag, suffix := range map[string]string{langEnglish: "", langChinese: "[zh_CN]"} {
			if got, want := entry[c.field+suffix], newWords(tag).t(c.key); got != want {
				t.Errorf("%s%s=%q, the translation (%s) says %q", c.field, suffix, got, c.key, want)
			}
		}
	}
}
