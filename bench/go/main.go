// Command bench-go runs the workloads of BENCH.md in Go, with the standard
// library only, and prints the same lines as build/bench:
//
//	workload=<name> n=<N> ns_per_op=<float> ops_per_s=<float>
//
// It is the yardstick for the C core: the same shapes, the same sizes, the
// same start line (every goroutine checks in, then a closed channel releases
// them all), the same result checks. scripts/bench-go.sh runs both.
//
// Exit status: 0, 1 if a workload failed, 2 for bad usage.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	prog        = "bench-go"
	maxN        = 1000000000 // values travel as int32, as in the C program
	memoryCount = 10000
)

type workload struct {
	name     string
	defaultN int64
	run      func(n int64) (time.Duration, error)
	op       string
}

var workloads = []workload{
	{"buf_spsc", 10000000, bufSPSC, "one int through a cap-1024 channel, 1 -> 1"},
	{"buf_mpmc", 10000000, bufMPMC, "one int through a cap-1024 channel, 4 -> 4"},
	{"unbuf_pingpong", 1000000, unbufPingPong, "one round trip on two unbuffered channels"},
	{"select2", 4000000, select2, "one int received by a 2-case select"},
	{"pool", 1000000, func(n int64) (time.Duration, error) { return pool(4, n) }, "one task through a pool of 4 workers"},
	{"pipeline", 1000000, pipeline, "one input through 4 stages on unbuffered channels"},
	{"ctx_cancel", 1000000, ctxCancel, "one child context made and canceled"},
	{"sema_uncontended", 10000000, semaUncontended, "one acquire+release, 1 goroutine"},
	{"sema_contended", 1000000, semaContended, "one acquire+release, 4 goroutines, 2 tokens"},
	{"ref_spsc_ring", 10000000, refSPSCRing, "one int through a lock-free ring (reference)"},
	{"pool16", 1000000, func(n int64) (time.Duration, error) { return pool(16, n) }, "one task through a pool of 16 workers"},
	{"timers_100k", 100000, timers, "one timer armed and stopped, 100k pending"},
	{"ref_cacheline", 1000000, refCacheline, "one cache line to the other core and back (reference)"},
	{"spawn", 100000, spawn, "one goroutine started and finished (wait group)"},
	{"goroutines_100k", 100000, goroutines100k, "one goroutine started, parked and released, all parked at once"},
}

// extra is an optional last field of the running workload's line (as
// "kib_per_goroutine=2.61"); runOne prints and clears it.
var extra string

func usage(out io.Writer) {
	fmt.Fprintf(out, "usage: %s [WORKLOAD] [--n N]\n", prog)
	fmt.Fprintf(out, "       %s memory [--n COUNT]\n", prog)
	fmt.Fprintf(out, "       %s --list | --help\n\n", prog)
	fmt.Fprintf(out, "Runs every workload (or only WORKLOAD) once and prints one line each:\n")
	fmt.Fprintf(out, "  workload=<name> n=<N> ns_per_op=<float> ops_per_s=<float>\n")
	fmt.Fprintf(out, "Running everything also prints the memory report (memory=<what> bytes=<N>).\n\n")
	fmt.Fprintf(out, "  --n N     operations per workload (1..%d; default: the workload's N)\n", maxN)
	fmt.Fprintf(out, "  --list    print the workload names, one a line\n")
	fmt.Fprintf(out, "  --help    print this help\n\nWorkloads (default N, one operation):\n")
	for _, w := range workloads {
		fmt.Fprintf(out, "  %-17s %9d  %s\n", w.name, w.defaultN, w.op)
	}
	fmt.Fprintf(out, "  %-17s %9d  bytes allocated per object, over COUNT live ones\n", "memory", memoryCount)
}

func badUsage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, fmt.Sprintf(format, args...))
	usage(os.Stderr)
	os.Exit(2)
}

func parseN(text string) int64 {
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 1 || n > maxN {
		badUsage("--n: '%s' must be a number between 1 and %d", text, maxN)
	}
	return n
}

// cpuTime is the CPU time this process has used so far (every thread, user
// and system), as the C program measures it with getrusage.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runOne(w workload, n int64) bool {
	cpu0 := cpuTime()
	elapsed, err := w.run(n)
	cpu := cpuTime() - cpu0
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s failed: %v\n", prog, w.name, err)
		return false
	}
	if elapsed < 1 {
		elapsed = 1
	}
	nsPerOp := float64(elapsed.Nanoseconds()) / float64(n)
	tail := ""
	if extra != "" {
		tail = " " + extra
		extra = ""
	}
	fmt.Printf("workload=%s n=%d ns_per_op=%.2f ops_per_s=%.1f cpu_ns_per_op=%.2f%s\n", w.name, n, nsPerOp,
		1e9/nsPerOp, float64(cpu.Nanoseconds())/float64(n), tail)
	return true
}

// goroutinesBack polls, with backoff, until only `base` goroutines remain:
// a goroutine that has signalled its wait group may not have returned yet.
func goroutinesBack(base int) bool {
	for wait := time.Microsecond; wait < 200*time.Millisecond; wait *= 2 {
		if runtime.NumGoroutine() <= base {
			return true
		}
		time.Sleep(wait)
	}
	return runtime.NumGoroutine() <= base
}

func main() {
	var n int64
	var only string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--help" || a == "-h":
			usage(os.Stdout)
			return
		case a == "--list":
			for _, w := range workloads {
				fmt.Println(w.name)
			}
			return
		case a == "--n" || a == "-n":
			if i+1 == len(args) {
				badUsage("missing value for %s", a)
			}
			i++
			n = parseN(args[i])
		case strings.HasPrefix(a, "--n="):
			n = parseN(strings.TrimPrefix(a, "--n="))
		case strings.HasPrefix(a, "-"):
			badUsage("unknown option %s", a)
		case only != "":
			badUsage("too many arguments, starting at %s", a)
		default:
			only = a
		}
	}

	var chosen []workload
	for _, w := range workloads {
		if only == "" || w.name == only {
			chosen = append(chosen, w)
		}
	}
	if only != "" && only != "memory" && len(chosen) == 0 {
		badUsage("unknown workload %s", only)
	}
	if only == "memory" {
		chosen = nil
	}

	base := runtime.NumGoroutine()
	ok := true
	for _, w := range chosen {
		size := w.defaultN
		if n > 0 {
			size = n
		}
		if ok = runOne(w, size); !ok {
			break
		}
	}
	if ok && (only == "" || only == "memory") {
		count := int64(memoryCount)
		if n > 0 {
			count = n
		}
		memoryReport(count)
	}
	if !goroutinesBack(base) {
		fmt.Fprintf(os.Stderr, "%s: %d goroutines left behind\n", prog, runtime.NumGoroutine()-base)
		ok = false
	}
	if !ok {
		os.Exit(1)
	}
}
