package process

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The test binary serves HTTP on the port in this variable when it is run
// as a child process, answering 503 for the first requests and then 200.
const envServe = "PROCESS_TEST_SERVE"

func TestMain(m *testing.M) {
	if port := os.Getenv(envServe); port != "" {
		var n atomic.Int32
		http.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) < 3 {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ready")
		})
		fmt.Println("serving on", port)
		fmt.Println(http.ListenAndServe("127.0.0.1:"+port, nil))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestWaitHTTPReady(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envServe, fmt.Sprint(port))
	var g Group
	defer g.StopAll()
	log := filepath.Join(t.TempDir(), "server.log")
	p, err := g.Start("server", log, os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitHTTP(context.Background(), p, fmt.Sprintf("http://127.0.0.1:%d/ready", port), Ready{Timeout: 30 * time.Second, Interval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	g.StopAll()
	if !p.Exited() {
		t.Error("StopAll returned with the server running")
	}
	if tail := p.LogTail(100); !strings.Contains(tail, fmt.Sprint("serving on ", port)) {
		t.Errorf("log %q, want the server's output", tail)
	}
}

// A process that ends before it is ready fails the wait at once, with the
// end of its log.
func TestWaitHTTPProcessExits(t *testing.T) {
	log := filepath.Join(t.TempDir(), "fail.log")
	p, err := Start("fail", log, "/bin/sh", "-c", "echo cannot bind; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = WaitHTTP(context.Background(), p, fmt.Sprintf("http://127.0.0.1:%d/", port), Ready{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "fail exited (exit status 3)") || !strings.Contains(err.Error(), "cannot bind") {
		t.Errorf("WaitHTTP: %v, want the exit and the log", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("WaitHTTP took %s to notice the exit", d)
	}
}

// Stop kills a process that ignores SIGTERM once the grace period is over.
func TestStopKillsAfterGrace(t *testing.T) {
	p, err := Start("stubborn", filepath.Join(t.TempDir(), "stubborn.log"), "/bin/sh", "-c", `trap "" TERM; echo up; while :; do sleep 1; done`)
	if err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(p.LogTail(10), "up") { // the trap is set
		if p.Exited() {
			t.Fatal("exited early")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	p.Stop(300 * time.Millisecond)
	if !p.Exited() {
		t.Fatal("Stop returned with the process running")
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("stopped after %s: SIGTERM was not ignored", d)
	}
}

func TestWaitHTTPTimeout(t *testing.T) {
	p, err := Start("quiet", filepath.Join(t.TempDir(), "quiet.log"), "/bin/sh", "-c", "sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	err = WaitHTTP(context.Background(), p, fmt.Sprintf("http://127.0.0.1:%d/", port), Ready{Timeout: 200 * time.Millisecond, Interval: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not ready after 200ms") {
		t.Errorf("WaitHTTP: %v, want a timeout", err)
	}
}
