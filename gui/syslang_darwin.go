package gui

import "github.com/jeandeaual/go-locale"

// systemLanguages are the user's preferred languages in macOS's settings
// (AppleLanguages), most wanted first.
func systemLanguages() []string {
	langs, err := locale.GetLocales()
	if err != nil {
		return nil
	}
	return langs
}
