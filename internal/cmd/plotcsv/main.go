// Command plotcsv draws columns of a CSV file against its first column
// as stacked line charts in a PNG, with no plotting package: enough for a
// soak run's curves (RSS, goroutines, open files over time).
//
//	go run ./internal/cmd/plotcsv -o soak.png -mark 60 soak.csv rss_mb goroutines fds
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"slices"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

func main() {
	out := flag.String("o", "plot.png", "the PNG to write")
	mark := flag.Float64("mark", math.NaN(), "draw a vertical line at this x (an event, e.g. a broker restart)")
	title := flag.String("title", "", "a title above the charts")
	flag.Parse()
	if flag.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: plotcsv [-o out.png] [-mark X] [-title T] file.csv column…")
		os.Exit(2)
	}
	if err := plot(*out, *title, *mark, flag.Arg(0), flag.Args()[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "plotcsv:", err)
		os.Exit(1)
	}
}

func plot(out, title string, mark float64, path string, columns []string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return err
	}
	if len(rows) < 3 {
		return errors.New("the CSV needs a header and at least two rows")
	}
	head := rows[0]
	col := func(name string) ([]float64, error) {
		i := slices.Index(head, name)
		if i < 0 {
			return nil, fmt.Errorf("no column %q (there are %v)", name, head)
		}
		v := make([]float64, len(rows)-1)
		for r, row := range rows[1:] {
			if v[r], err = strconv.ParseFloat(row[i], 64); err != nil {
				return nil, fmt.Errorf("row %d, %s: %v", r+2, name, err)
			}
		}
		return v, nil
	}
	xs, err := col(head[0])
	if err != nil {
		return err
	}
	const w, panelH, top, left, right = 720, 150, 28, 70, 20
	img := image.NewRGBA(image.Rect(0, 0, w, top+len(columns)*panelH+24))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	text(img, left, 18, title, color.Black)
	for p, name := range columns {
		ys, err := col(name)
		if err != nil {
			return err
		}
		y0 := top + p*panelH
		chart(img, image.Rect(left, y0+16, w-right, y0+panelH-14), xs, ys, mark)
		text(img, left, y0+12, fmt.Sprintf("%s (min %.0f, max %.0f, last %.0f)", name, slices.Min(ys), slices.Max(ys), ys[len(ys)-1]), color.Black)
	}
	text(img, left, img.Bounds().Dy()-6, fmt.Sprintf("%s from %.0f to %.0f", head[0], xs[0], xs[len(xs)-1]), color.Gray{90})
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(o, img); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}

// chart draws ys against xs in r, its y axis from 0 (so that flat looks
// flat) to the largest value, with the axis' top value written beside it.
func chart(img *image.RGBA, r image.Rectangle, xs, ys []float64, mark float64) {
	grey, blue, red := color.Gray{200}, color.RGBA{30, 90, 200, 255}, color.RGBA{200, 40, 40, 255}
	for x := r.Min.X; x <= r.Max.X; x++ {
		img.Set(x, r.Max.Y, grey)
		img.Set(x, r.Min.Y, grey)
	}
	for y := r.Min.Y; y <= r.Max.Y; y++ {
		img.Set(r.Min.X, y, grey)
	}
	xmin, xmax := xs[0], xs[len(xs)-1]
	ymax := slices.Max(ys) * 1.1
	if ymax <= 0 {
		ymax = 1
	}
	px := func(x float64) int { return r.Min.X + int((x-xmin)/math.Max(xmax-xmin, 1e-9)*float64(r.Dx())) }
	py := func(y float64) int { return r.Max.Y - int(y/ymax*float64(r.Dy())) }
	text(img, 4, r.Min.Y+10, strconv.FormatFloat(ymax, 'f', 0, 64), color.Gray{90})
	text(img, 4, r.Max.Y, "0", color.Gray{90})
	if !math.IsNaN(mark) && mark >= xmin && mark <= xmax {
		for y := r.Min.Y; y <= r.Max.Y; y += 2 {
			img.Set(px(mark), y, red)
		}
	}
	for i := 1; i < len(xs); i++ {
		line(img, px(xs[i-1]), py(ys[i-1]), px(xs[i]), py(ys[i]), blue)
	}
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for s := 0; s <= steps; s++ {
		x := x0 + (x1-x0)*s/steps
		y := y0 + (y1-y0)*s/steps
		img.Set(x, y, c)
		img.Set(x, y+1, c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
