// Package process starts and supervises the real programs that the
// end-to-end tests (Prometheus, through e2eprom) and the lab (etcd,
// kube-apiserver, Prometheus) run: each one's output goes to a log file, it
// dies with the program that started it (on Linux, even when that program
// is killed), and it is stopped with SIGTERM, then SIGKILL after a grace
// period. It is test support, not part of the command.
package process

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a started process.
type Proc struct {
	// Name names the process in errors, e.g. "prometheus".
	Name string
	// Log is the file its stdout and stderr are appended to.
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, set before done is closed
}

// Start starts bin with args, its output appended to the file logPath.
func Start(name, logPath, bin string, args ...string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits for the process to end, sending SIGKILL
// after grace. It returns at once for a process that has ended.
func (p *Proc) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// LogTail returns the last n bytes of the process's log.
func (p *Proc) LogTail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// exitedError says that the process ended before url was ready.
func (p *Proc) exitedError(url string) error {
	<-p.done
	return fmt.Errorf("%s exited (%v) before %s was ready; log %s ends:\n%s", p.Name, p.err, url, p.Log, p.LogTail(3000))
}

// Group stops the processes it started, in reverse start order.
type Group struct {
	mu    sync.Mutex
	procs []*Proc
	// Grace is how long StopAll waits after SIGTERM (default 15s).
	Grace time.Duration
}

// Start starts a process (see Start) that StopAll stops.
func (g *Group) Start(name, logPath, bin string, args ...string) (*Proc, error) {
	p, err := Start(name, logPath, bin, args...)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	return p, nil
}

// StopAll stops every process of the group, the last started first.
func (g *Group) StopAll() {
	g.mu.Lock()
	procs := g.procs
	g.procs = nil
	g.mu.Unlock()
	grace := g.Grace
	if grace == 0 {
		grace = 15 * time.Second
	}
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(grace)
	}
}

// Ready says how WaitHTTP polls.
type Ready struct {
	// Client sends the requests (default: a client with a 5s timeout).
	Client *http.Client
	// Token, when set, is sent as a bearer token.
	Token string
	// Timeout bounds the wait (default one minute); Interval is the time
	// between polls (default 100ms).
	Timeout, Interval time.Duration
}

// WaitHTTP polls url until it answers 200 OK, and fails when process p
// ends first, ctx is done or the timeout passes.
func WaitHTTP(ctx context.Context, p *Proc, url string, r Ready) error {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	timeout, interval := r.Timeout, r.Interval
	if timeout == 0 {
		timeout = time.Minute
	}
	if interval == 0 {
		interval = 100 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		if p.Exited() {
			return p.exitedError(url)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if r.Token != "" {
			req.Header.Set("Authorization", "Bearer "+r.Token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not ready after %s (last: %s); log %s", p.Name, url, timeout, last, p.Log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return p.exitedError(url)
		case <-time.After(interval):
		}
	}
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// GoTool builds a tool of go.mod's tool directives (go tool -n, which
// builds and caches it) and returns the path of its binary.
func GoTool(name string) (string, error) {
	out, err := exec.Command("go", "tool", "-n", name).Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("go tool -n %s: %v\n%s", name, err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}
