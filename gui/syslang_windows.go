package gui

import "golang.org/x/sys/windows"

// systemLanguages are the languages of the user's Windows display, most
// wanted first ("zh-CN", "en-US").
func systemLanguages() []string {
	langs, err := windows.GetUserPreferredUILanguages(windows.MUI_LANGUAGE_NAME)
	if err != nil {
		return nil
	}
	return langs
}
