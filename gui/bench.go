package gui

import (
	"image"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/config"
	"imagebeam/holdings"
)

// heldPanelHeight is the height of the selected device's picture of what
// it holds, above the device buttons.
const heldPanelHeight = 96

// heldPanel shows, under the device list, what the selected device holds:
// its last acknowledged image larger than the row's thumbnail, when, the
// size and the whole SHA-256. Resend last, just below, sends it again.
type heldPanel struct {
	g    *GUI
	pic  *canvas.Image
	when *widget.Label
	sha  *widget.Label
	box  *fyne.Container
	// shown is what the panel shows: the device list refreshes it with
	// every transfer update, and most leave it as it is.
	shown heldShown
}

// heldShown is what the panel shows: a record (ok false: none), its
// picture, or why the store cannot be read.
type heldShown struct {
	rec    holdings.Record
	ok     bool
	pic    image.Image
	failed string // the store's error, "" when it is fine
}

func newHeldPanel(g *GUI) *heldPanel {
	p := &heldPanel{g: g}
	p.pic = canvas.NewImageFromImage(nil)
	p.pic.FillMode = canvas.ImageFillContain
	p.pic.SetMinSize(fyne.NewSize(1, heldPanelHeight))
	p.when = captionLabel()
	p.sha = widget.NewLabel("")
	p.sha.SizeName = theme.SizeNameCaptionText
	p.sha.Wrapping = fyne.TextWrapBreak
	p.box = container.NewVBox(widget.NewSeparator(), p.pic, container.New(&tightVBox{}, p.when, p.sha))
	p.box.Hide()
	return p
}

func (p *heldPanel) object() fyne.CanvasObject { return p.box }

// show shows what d holds (ok false: no device is selected), and hides
// the panel when nothing is recorded.
func (p *heldPanel) show(d config.Device, ok bool) {
	h := p.g.held
	var now heldShown
	if h != nil && ok {
		now.rec, now.ok = h.of(d)
		if h.err != nil {
			now.failed = h.err.Error()
		} else if now.ok {
			now.pic = h.picture(now.rec)
		}
	}
	if now == p.shown {
		return
	}
	p.shown = now
	rec := now.rec
	switch {
	case h == nil || !ok:
		p.box.Hide()
		return
	case h.err != nil:
		p.pic.Image = nil
		p.when.SetText(tr("held.error.store", args{"Reason": errorText(h.err)}))
		p.sha.SetText("")
	case !now.ok:
		p.box.Hide()
		return
	default:
		p.pic.Image = now.pic
		p.when.SetText(tr("held.since", args{"Time": ago(rec.Time.Local()), "Size": sizeText(int64(rec.Bytes))}))
		p.sha.SetText(tr("held.sha", args{"SHA": rec.SHA256}))
	}
	p.pic.Refresh()
	p.box.Show()
}

// groupPicker ticks the devices of a saved group, and offers what can be
// done with groups in a menu: save the ticked devices as a group, resend
// the group's last image to all of it, delete the group.
type groupPicker struct {
	g    *GUI
	l    *deviceList
	sel  *widget.Select
	menu *widget.Button
	box  fyne.CanvasObject
	// quiet is set while the picker changes its own selection, which must
	// not tick anything.
	quiet bool
}

func newGroupPicker(g *GUI, l *deviceList) *groupPicker {
	p := &groupPicker{g: g, l: l}
	p.sel = newSelect(nil, p.chosen)
	p.menu = widget.NewButtonWithIcon("", theme.MoreVerticalIcon(), p.showMenu)
	p.box = container.NewBorder(nil, nil, nil, p.menu, p.sel)
	p.refresh()
	return p
}

func (p *groupPicker) object() fyne.CanvasObject { return p.box }

// refresh lists the saved groups; the placeholder says how to make one
// while there are none.
func (p *groupPicker) refresh() {
	names := make([]string, len(p.g.settings.Groups))
	for i, gr := range p.g.settings.Groups {
		names[i] = gr.Name
	}
	if len(names) == 0 {
		p.sel.PlaceHolder = tr("groups.none")
	} else {
		p.sel.PlaceHolder = tr("groups.placeholder")
	}
	if !slices.Equal(names, p.sel.Options) {
		p.sel.SetOptions(names)
	}
	if p.sel.Selected != "" && !slices.Contains(names, p.sel.Selected) {
		p.clear()
	}
	p.sel.Refresh()
}

// clear shows no group, ticking nothing.
func (p *groupPicker) clear() {
	p.quiet = true
	p.sel.ClearSelected()
	p.quiet = false
}

// chosen ticks exactly the devices of the group name.
func (p *groupPicker) chosen(name string) {
	if p.quiet || name == "" {
		return
	}
	members, err := p.g.settings.ResolveGroup(name)
	if err != nil {
		p.g.showError(err)
		p.clear()
		return
	}
	p.l.checked = map[string]bool{}
	for _, d := range members {
		p.l.checked[d.Name] = true
	}
	p.l.list.Refresh()
	p.g.preview.targetsChanged()
}

// ticksChanged forgets the group shown once the ticks are no longer
// exactly its devices.
func (p *groupPicker) ticksChanged() {
	if p.sel.Selected == "" {
		return
	}
	members, err := p.g.settings.ResolveGroup(p.sel.Selected)
	if err != nil || len(members) != p.l.countChecked() {
		p.clear()
		return
	}
	for _, d := range members {
		if !p.l.checked[d.Name] {
			p.clear()
			return
		}
	}
}

func (p *groupPicker) showMenu() {
	chosen := p.sel.Selected
	save := fyne.NewMenuItem(tr("groups.menu.save"), p.showSave)
	resend := fyne.NewMenuItem(tr("groups.menu.resend"), func() { p.resend(chosen) })
	del := fyne.NewMenuItem(tr("groups.menu.delete"), func() { p.confirmDelete(chosen) })
	resend.Disabled, del.Disabled = chosen == "", chosen == ""
	save.Disabled = p.l.countChecked() == 0
	widget.ShowPopUpMenuAtRelativePosition(fyne.NewMenu("", save, resend, del), p.g.win.Canvas(), fyne.NewPos(0, p.menu.Size().Height), p.menu)
}

// resend sends the newest image any device of the group holds to every
// device of the group: a device that was off, replaced or failed the last
// time catches up with the rest.
func (p *groupPicker) resend(name string) {
	members, err := p.g.settings.ResolveGroup(name)
	if err != nil {
		p.g.showError(err)
		return
	}
	rec, ok := p.g.held.newest(members)
	if !ok {
		p.g.showError(newError("groups.error.nothing_held", args{"Group": name}))
		return
	}
	p.g.held.resend(rec, members)
}

// showSave asks for a name and saves the ticked devices as that group,
// replacing a group of that name.
func (p *groupPicker) showSave() {
	name := newEntry(p.sel.Selected, tr("groups.save.hint"))
	var ticked []string
	for _, d := range p.g.settings.Devices {
		if p.l.checked[d.Name] {
			ticked = append(ticked, d.Name)
		}
	}
	msg := widget.NewLabel(trn("groups.save.message", len(ticked), args{"Devices": strings.Join(ticked, tr("list.separator"))}))
	msg.Wrapping = fyne.TextWrapWord
	dlg := dialog.NewCustomConfirm(tr("groups.save.title"), tr("groups.save.confirm"), tr("button.cancel"), container.NewVBox(msg, name), func(ok bool) {
		if ok {
			p.save(name.Text, ticked)
		}
	}, p.g.win)
	dlg.Resize(fyne.NewSize(420, 0))
	dlg.Show()
	p.g.win.Canvas().Focus(name)
}

// save saves the group name of devices and shows it.
func (p *groupPicker) save(name string, devices []string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		err := newError("groups.error.no_name")
		p.g.showError(err)
		return err
	}
	s := p.g.settings
	old := slices.Clone(s.Groups)
	s.SetGroup(config.Group{Name: name, Devices: devices})
	if err := p.g.saveSettings(); err != nil {
		s.Groups = old
		p.g.showError(err)
		return err
	}
	p.refresh()
	if gr, ok := s.Group(name); ok {
		p.quiet = true
		p.sel.SetSelected(gr.Name)
		p.quiet = false
	}
	return nil
}

func (p *groupPicker) confirmDelete(name string) {
	p.g.confirm(tr("groups.delete.title"), tr("groups.delete.message", args{"Group": name}), tr("groups.menu.delete"), func() { p.delete(name) })
}

// delete removes the group name (its devices stay) and saves.
func (p *groupPicker) delete(name string) error {
	s := p.g.settings
	old := slices.Clone(s.Groups)
	s.Groups = slices.DeleteFunc(slices.Clone(s.Groups), func(gr config.Group) bool { return strings.EqualFold(gr.Name, name) })
	if err := p.g.saveSettings(); err != nil {
		s.Groups = old
		p.g.showError(err)
		return err
	}
	p.refresh()
	return nil
}
