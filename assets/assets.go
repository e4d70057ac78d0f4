// Package assets holds ImageBeam's bundled resources: the app icon.
package assets

import _ "embed"

// IconPNG is the app icon, 512×512 (assets/icon.png; icon_gen.go draws it).
//
//go:embed icon.png
var IconPNG []byte
