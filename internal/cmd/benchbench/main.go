// Command benchbench measures a whole bench at once: `imagebeam send` to
// N simulated devices against a minimal paho sender (the yardstick: one
// connection per device, publish a frame, wait for the matching reply,
// nothing else), in one run, through a real Mosquitto on loopback, with
// the devices in another process (`imagebeam simulate --devices`). Each
// sender is a child process whose CPU (user + system) and peak RSS come
// from the kernel's accounting when it exits; every image is checked
// byte for byte by the devices' SHA-256.
//
//	go run ./internal/cmd/benchbench -imagebeam ./imagebeam -devices 1,10,50 -rounds 5
//
// scripts/bench-bench.sh builds imagebeam and runs it.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"imagebeam/transfer"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "start" {
		return // the process start alone, for startCPU
	}
	if len(os.Args) > 1 && os.Args[1] == "yardstick" {
		if err := yardstick(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "yardstick:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchbench:", err)
		os.Exit(1)
	}
}

// sample is one sender run.
type sample struct {
	sender  string // "imagebeam" or "minimal"
	devices int
	packets int           // frames acknowledged, all devices
	cpu     time.Duration // user + system of the sender process
	wall    time.Duration // first device connected to last device done
	rssKB   int64
	others  time.Duration // CPU of the broker and the devices' process meanwhile
}

func (s sample) cpuPerPacket() float64 { return float64(s.cpu.Microseconds()) / float64(s.packets) }

// netPerPacket is the CPU per packet without the process's start.
func (s sample) netPerPacket(start time.Duration) float64 {
	return float64((s.cpu - start).Microseconds()) / float64(s.packets)
}
func (s sample) mbPerSecond(size int) float64 {
	return float64(size*s.devices) / s.wall.Seconds() / 1e6
}

func run() error {
	ib := flag.String("imagebeam", "./imagebeam", "the imagebeam binary")
	devList := flag.String("devices", "1,10,50", "bench sizes")
	rounds := flag.Int("rounds", 5, "runs of each sender at each size (interleaved)")
	size := flag.Int("size", 1<<20, "image bytes per device")
	csvPath := flag.String("csv", "", "also write every sample to this CSV file")
	noDelay := flag.Bool("nodelay", false, "run Mosquitto with set_tcp_nodelay true (its default is false: Nagle on)")
	flag.Parse()
	var sizes []int
	for _, f := range strings.Split(*devList, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("bad -devices %q", *devList)
		}
		sizes = append(sizes, n)
	}
	most := slices.Max(sizes)
	dir, err := os.MkdirTemp("", "benchbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	url, broker, stop, err := startMosquitto(dir, *noDelay)
	if err != nil {
		return err
	}
	defer stop()
	env := append(os.Environ(), "IMAGEBEAM_CONFIG="+filepath.Join(dir, "settings.json"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	sim, err := startBench(*ib, url, most, env)
	if err != nil {
		return err
	}
	defer sim.stop()
	img := make([]byte, *size)
	_, _ = rand.Read(img)
	imgPath := filepath.Join(dir, "image.bin")
	if err := os.WriteFile(imgPath, img, 0o600); err != nil {
		return err
	}
	sum := sha256.Sum256(img)
	want := hex.EncodeToString(sum[:])
	self, err := os.Executable()
	if err != nil {
		return err
	}
	starts := map[string]time.Duration{"minimal": startCPU(self, "start"), "imagebeam": startCPU(*ib, "version")}
	fmt.Fprintf(os.Stderr, "process start alone (median of 7): minimal %s, imagebeam %s of CPU\n", starts["minimal"], starts["imagebeam"])
	fmt.Fprintf(os.Stderr, "Mosquitto %s, %d simulated devices in another process, %d bytes per device, %d rounds\n", url, most, *size, *rounds)
	var samples []sample
	for _, n := range sizes {
		for r := range *rounds {
			for _, sender := range []string{"minimal", "imagebeam"} {
				var s sample
				var err error
				before := procCPU(broker) + procCPU(sim.cmd.Process.Pid)
				if sender == "minimal" {
					s, err = runMinimal(self, url, n, most, imgPath, env)
				} else {
					s, err = runImagebeam(*ib, url, n, most, imgPath, *size, env)
				}
				if err != nil {
					return fmt.Errorf("%s to %d devices: %w", sender, n, err)
				}
				if err := sim.expect(n, want); err != nil {
					return fmt.Errorf("%s to %d devices: %w", sender, n, err)
				}
				s.others = procCPU(broker) + procCPU(sim.cmd.Process.Pid) - before
				fmt.Fprintf(os.Stderr, "N=%-3d round %d %-9s %6.1f µs/packet  %6.2f MB/s  %4d MB RSS  broker+devices %6.1f µs/packet\n",
					n, r+1, sender, s.cpuPerPacket(), s.mbPerSecond(*size), s.rssKB/1024, float64(s.others.Microseconds())/float64(s.packets))
				samples = append(samples, s)
			}
		}
	}
	printTable(samples, sizes, *size, starts)
	if *csvPath != "" {
		return writeCSV(*csvPath, samples, *size)
	}
	return nil
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// printTable prints, per bench size, the medians of each sender and the
// ratios of the medians of the pairwise ratios (imagebeam ÷ minimal).
func printTable(samples []sample, sizes []int, size int, starts map[string]time.Duration) {
	fmt.Println("| devices | sender | CPU per packet (µs) | without the process start (µs) | aggregate MB/s | peak RSS (MB) | broker + devices CPU per packet (µs) |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|")
	for _, n := range sizes {
		var mini, ib []sample
		for _, s := range samples {
			if s.devices == n && s.sender == "minimal" {
				mini = append(mini, s)
			} else if s.devices == n {
				ib = append(ib, s)
			}
		}
		var cpuRatio, netRatio, speedRatio []float64
		for i := range min(len(mini), len(ib)) {
			cpuRatio = append(cpuRatio, ib[i].cpuPerPacket()/mini[i].cpuPerPacket())
			netRatio = append(netRatio, ib[i].netPerPacket(starts["imagebeam"])/mini[i].netPerPacket(starts["minimal"]))
			speedRatio = append(speedRatio, ib[i].mbPerSecond(size)/mini[i].mbPerSecond(size))
		}
		for _, set := range [][]sample{mini, ib} {
			var cpu, net, speed, rss, others []float64
			for _, s := range set {
				others = append(others, float64(s.others.Microseconds())/float64(s.packets))
				cpu, speed, rss = append(cpu, s.cpuPerPacket()), append(speed, s.mbPerSecond(size)), append(rss, float64(s.rssKB)/1024)
				net = append(net, s.netPerPacket(starts[s.sender]))
			}
			fmt.Printf("| %d | %s | %.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) | %.2f (%.2f–%.2f) | %.0f (max %.0f) | %.0f |\n", n, set[0].sender,
				median(cpu), slices.Min(cpu), slices.Max(cpu), median(net), slices.Min(net), slices.Max(net),
				median(speed), slices.Min(speed), slices.Max(speed), median(rss), slices.Max(rss), median(others))
		}
		fmt.Printf("| %d | imagebeam ÷ minimal | %.2f × (%.2f–%.2f) | %.2f × (%.2f–%.2f) | %.2f × (%.2f–%.2f) | | |\n", n,
			median(cpuRatio), slices.Min(cpuRatio), slices.Max(cpuRatio), median(netRatio), slices.Min(netRatio), slices.Max(netRatio),
			median(speedRatio), slices.Min(speedRatio), slices.Max(speedRatio))
	}
}

func writeCSV(path string, samples []sample, size int) error {
	var b strings.Builder
	b.WriteString("sender,devices,packets,cpu_us,wall_ms,cpu_us_per_packet,mb_per_s,peak_rss_kb,broker_devices_cpu_us\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "%s,%d,%d,%d,%.1f,%.1f,%.3f,%d,%d\n", s.sender, s.devices, s.packets, s.cpu.Microseconds(),
			float64(s.wall.Microseconds())/1000, s.cpuPerPacket(), s.mbPerSecond(size), s.rssKB, s.others.Microseconds())
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// startCPU is the median CPU (user + system) of 7 runs of bin with args
// that only start the process and exit: what a sender spends before its
// first packet.
func startCPU(bin string, args ...string) time.Duration {
	var v []float64
	for range 7 {
		cmd := exec.Command(bin, args...)
		if cmd.Run() != nil {
			continue
		}
		cpu, _ := rusage(cmd)
		v = append(v, float64(cpu))
	}
	if len(v) == 0 {
		return 0
	}
	return time.Duration(median(v))
}

// startMosquitto runs mosquitto on a free loopback port.
func startMosquitto(dir string, noDelay bool) (url string, pid int, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", 0, nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type error\n", port)
	if noDelay {
		text += "set_tcp_nodelay true\n"
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return "", 0, nil, err
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("mosquitto: %w (apt-get install mosquitto)", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			_ = cmd.Process.Kill()
			return "", 0, nil, errors.New("mosquitto did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "tcp://" + addr, cmd.Process.Pid, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }, nil
}

// procCPU is a running process's CPU so far (user + system), from
// /proc/PID/stat, in clock ticks of 10 ms.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// bench is the `imagebeam simulate --devices` process and the images it
// reports.
type bench struct {
	cmd    *exec.Cmd
	images chan received
}

type received struct {
	Device   string `json:"device"`
	SHA256   string `json:"sha256"`
	Complete bool   `json:"complete"`
}

func startBench(ib, url string, n int, env []string) (*bench, error) {
	cmd := exec.Command(ib, "simulate", "--broker", url, "--devices", strconv.Itoa(n), "--prefix", "bench", "--save-group", "Bench")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	saved := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errPipe)
		done := false
		for sc.Scan() {
			if !done && strings.HasPrefix(sc.Text(), "saved the group") {
				done = true
				close(saved)
			}
		}
	}()
	b := &bench{cmd: cmd, images: make(chan received, 4096)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var r received
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				b.images <- r
			}
		}
	}()
	select {
	case <-saved:
	case <-time.After(30 * time.Second):
		b.stop()
		return nil, errors.New("imagebeam simulate --devices did not start within 30 s")
	}
	return b, nil
}

func (b *bench) stop() { _ = b.cmd.Process.Signal(os.Interrupt); _ = b.cmd.Wait() }

// expect waits for the images of devices 1…n and checks each is want.
func (b *bench) expect(n int, want string) error {
	seen := map[string]bool{}
	for len(seen) < n {
		select {
		case r := <-b.images:
			if !r.Complete || r.SHA256 != want {
				return fmt.Errorf("%s received an image with sha256 %s, not %s", r.Device, r.SHA256, want)
			}
			seen[r.Device] = true
		case <-time.After(30 * time.Second):
			return fmt.Errorf("only %d of %d devices reported the image", len(seen), n)
		}
	}
	return nil
}

// rusage returns the exited child's CPU and peak RSS.
func rusage(cmd *exec.Cmd) (time.Duration, int64) {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, ru.Maxrss
}

// deviceNames are the first n of simulate's bench of most devices.
func deviceNames(n, most int) []string {
	width := max(2, len(strconv.Itoa(most)))
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf("Bench %0*d", width, i+1)
	}
	return out
}

// runImagebeam runs `imagebeam send --raw` to devices 1…n, its output a
// pipe (plain lines, as a script or a log gets them); the transfers' span
// is the longest device's time in its closing table, as they all start
// at once.
func runImagebeam(ib, url string, n, most int, img string, size int, env []string) (sample, error) {
	args := []string{"send", "--raw", "--broker", url}
	for _, d := range deviceNames(n, most) {
		args = append(args, "--device", d)
	}
	args = append(args, img)
	cmd := exec.Command(ib, args...)
	out, err := output(cmd, env)
	if err != nil {
		return sample{}, err
	}
	s := sample{sender: "imagebeam", devices: n}
	rows := 0
	for _, l := range strings.Split(string(out), "\n") {
		if m := summaryLine.FindStringSubmatch(l); m != nil && n == 1 { // one device: send's summary line
			v, _ := strconv.ParseFloat(m[1], 64)
			unit := time.Second
			if m[2] == "ms" {
				unit = time.Millisecond
			}
			s.wall = time.Duration(v * float64(unit))
			rows++
			continue
		}
		m := tableRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[2] != "done" {
			return sample{}, fmt.Errorf("%s: %s", m[1], l)
		}
		sec, _ := strconv.ParseFloat(m[3], 64)
		s.wall = max(s.wall, time.Duration(sec*float64(time.Second)))
		rows++
	}
	if rows != n {
		return sample{}, fmt.Errorf("the closing table has %d devices, want %d:\n%s", rows, n, out)
	}
	s.packets = n * (transfer.ChunkCount(size, transfer.DefaultChunk) + 2) // BEGIN, the DATA, FINISH
	s.cpu, s.rssKB = rusage(cmd)
	return s, nil
}

// output runs cmd with env and returns its standard output; its error
// carries the standard error.
func output(cmd *exec.Cmd, env []string) ([]byte, error) {
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return out, nil
}

// summaryLine is send's last line for one device: "sent … in 213 ms: …".
var summaryLine = regexp.MustCompile(`^sent .* in ([0-9.]+) (ms|s): `)

// tableRow is a row of send's closing table: device, result, time.
var tableRow = regexp.MustCompile(`^(Bench \d+)\s{2,}(\S+)\s{2,}([0-9.]+) s\s`)

// runMinimal runs this program's yardstick in a process of its own.
func runMinimal(self, url string, n, most int, img string, env []string) (sample, error) {
	var topics []string
	for _, name := range deviceNames(n, most) {
		topics = append(topics, "bench/"+strings.TrimPrefix(name, "Bench "))
	}
	cmd := exec.Command(self, "yardstick", url, img, strings.Join(topics, ","))
	out, err := output(cmd, env)
	if err != nil {
		return sample{}, err
	}
	var r struct {
		Packets int
		WallNs  int64
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return sample{}, fmt.Errorf("yardstick printed %q", out)
	}
	s := sample{sender: "minimal", devices: n, packets: r.Packets, wall: time.Duration(r.WallNs)}
	s.cpu, s.rssKB = rusage(cmd)
	return s, nil
}

// yardstick is the minimal sender: for each device prefix P, its own
// paho client (defaults: clean session, ordered handler), subscribed to
// P/from before anything is sent, then BEGIN, every DATA and FINISH, each
// published and answered before the next; no timeout, retry, event or
// statistic. It prints the frames acknowledged and the span from the
// last connection to the last FINISH answer.
func yardstick(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: yardstick URL IMAGE PREFIX,PREFIX,…")
	}
	url, imgPath, prefixes := args[0], args[1], strings.Split(args[2], ",")
	img, err := os.ReadFile(imgPath)
	if err != nil {
		return err
	}
	type dev struct {
		client mqtt.Client
		to     string
		in     chan []byte
	}
	devs := make([]*dev, len(prefixes))
	for i, p := range prefixes {
		d := &dev{to: p + "/to", in: make(chan []byte, 16)}
		opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("yardstick-%d-%d", os.Getpid(), i))
		d.client = mqtt.NewClient(opts)
		if t := d.client.Connect(); t.Wait() && t.Error() != nil {
			return t.Error()
		}
		if t := d.client.Subscribe(p+"/from", 0, func(_ mqtt.Client, m mqtt.Message) { d.in <- m.Payload() }); t.Wait() && t.Error() != nil {
			return t.Error()
		}
		devs[i] = d
	}
	chunk := transfer.DefaultChunk
	start := time.Now()
	var wg sync.WaitGroup
	acked := make([]int, len(devs))
	errs := make([]error, len(devs))
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exchange := func(f transfer.Frame) error {
				d.client.Publish(d.to, 0, false, transfer.EncodeFrame(f)).Wait()
				for msg := range d.in {
					fb, err := transfer.DecodeFeedback(msg)
					if err == nil && fb.Function == f.Function && fb.Number == f.Number && fb.Status == transfer.StatusWhole {
						acked[i]++
						return nil
					}
				}
				return errors.New("closed")
			}
			if errs[i] = exchange(transfer.Frame{Function: transfer.FuncBegin, Data: transfer.BeginData("image.jpg", len(img))}); errs[i] != nil {
				return
			}
			for n := range transfer.ChunkCount(len(img), chunk) {
				lo := n * chunk
				if errs[i] = exchange(transfer.Frame{Function: transfer.FuncData, Number: n, Data: img[lo:min(lo+chunk, len(img))]}); errs[i] != nil {
					return
				}
			}
			errs[i] = exchange(transfer.Frame{Function: transfer.FuncFinish})
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	total := 0
	for i := range devs {
		if errs[i] != nil {
			return errs[i]
		}
		total += acked[i]
		devs[i].client.Disconnect(0)
	}
	return json.NewEncoder(os.Stdout).Encode(struct {
		Packets int
		WallNs  int64
	}{total, wall.Nanoseconds()})
}
