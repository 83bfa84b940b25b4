// Command bench is Gavel's load and benchmark tool (issue 7).
//
//	go run ./bench ingress [-duration 10s] [-rate 5000] [-concurrency 64] [-platforms feishu,tim,easemob]
//	go run ./bench egress
//	go run ./bench profile [-platform feishu] [-n 50000] [-cpuprofile ingress.prof]
//	go run ./bench console [-n 1000000] [-db cases.db]   (the console's queries on 1,000,000 cases)
//	go run ./bench bare -listen 127.0.0.1:0   (the bare gin baseline; ingress starts it itself)
//
// ingress builds the gavel binary, runs `gavel serve` as a subprocess
// against in-process fakes of the three platforms, runs the bare gin
// baseline as a second subprocess, and measures both with the same
// in-process HTTP client: throughput at saturation (closed loop), latency
// at a fixed rate (open loop, measured from each request's scheduled send
// time), Gavel's start-up time and peak RSS.
//
// egress runs Gavel in-process against the TIM and Easemob fakes and times
// a mass /kick of 20,000 TIM members and a mass /unmute of 6,000 Easemob
// chat-room members against the platform-limit ideal.
//
// profile drives Gavel's router in-process with the ingress traffic and
// writes a CPU profile (gavel serve has no pprof endpoint).
//
// All traffic goes to 127.0.0.1. See BENCHMARKS.md for measured figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  bench ingress [-duration 10s] [-rate 5000] [-concurrency 64] [-platforms feishu,tim,easemob] [-pool-rate 20000] [-keep]
  bench egress [-tim-members 20000] [-easemob-members 6000]
  bench profile [-platform feishu] [-n 50000] [-cpuprofile ingress.prof]
  bench console [-n 1000000] [-db cases.db] [-runs 20] [-chats 200]
  bench bare -listen 127.0.0.1:0`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no mode")
	}
	mode, rest := args[0], args[1:]
	switch mode {
	case "ingress":
		o, err := parseIngressFlags(rest, stderr)
		if err != nil {
			return err
		}
		return runIngress(ctx, o, stdout, stderr)
	case "egress":
		o, err := parseEgressFlags(rest, stderr)
		if err != nil {
			return err
		}
		return runEgress(ctx, o, stdout)
	case "profile":
		return runProfile(ctx, rest, stdout, stderr)
	case "console":
		o, err := parseConsoleFlags(rest, stderr)
		if err != nil {
			return err
		}
		return runConsole(ctx, o, stdout)
	case "bare":
		fs := flag.NewFlagSet("bare", flag.ContinueOnError)
		fs.SetOutput(stderr)
		listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return runBare(ctx, *listen, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown mode %q", mode)
	}
}
