// An HTTP/2 server built on Go's golang.org/x/net/http2 (not on anything pushline wrote), for
// the conformance suite in test/conformance/. Built offline by .ci/conformance-servers.sh
// against Debian's golang-golang-x-net-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-h2-server ./main.go
//
// It serves HTTPS (h2 only) on -addr and prints "listening <host:port>" on stdout once ready.
//   - any path: counted (per path), answered 200 with the request body echoed, or with
//     x-response-size bytes of a fixed pattern when that request header is set;
//   - GET /_counts: the per-path counts as a JSON object (not counted);
//   - POST /_goaway: graceful GOAWAY on every connection open now (in-flight streams finish,
//     streams above the GOAWAY's last-stream-id are ignored, as the spec allows), while the
//     listener keeps accepting new connections (not counted);
//   - SIGTERM: graceful shutdown of everything, then exit 0.
//
// The per-path counts are what make losses and duplicates visible: the client sends each
// request to its own path, and every path must be counted exactly once.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http2"
)

type counter struct {
	mu     sync.Mutex
	byPath map[string]int
}

func (c *counter) add(path string) {
	c.mu.Lock()
	c.byPath[path]++
	c.mu.Unlock()
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byPath))
	for k, v := range c.byPath {
		out[k] = v
	}
	return out
}

// generation is one http.Server + http2.Server pair: shutting it down sends a graceful GOAWAY
// on the connections it serves, and only on those (new connections go to the next generation).
type generation struct {
	base *http.Server
	h2   *http2.Server
}

func newGeneration(handler http.Handler, maxStreams uint32) *generation {
	base := &http.Server{Handler: handler}
	h2 := &http2.Server{MaxConcurrentStreams: maxStreams}
	// Registers h2's graceful shutdown with base.Shutdown.
	if err := http2.ConfigureServer(base, h2); err != nil {
		log.Fatal(err)
	}
	return &generation{base: base, h2: h2}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	certFile := flag.String("cert", "", "server certificate (PEM)")
	keyFile := flag.String("key", "", "server private key (PEM)")
	maxStreams := flag.Uint("max-concurrent-streams", 250, "SETTINGS_MAX_CONCURRENT_STREAMS")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	counts := &counter{byPath: map[string]int{}}
	pattern := make([]byte, 4096)
	for i := range pattern {
		pattern[i] = byte(i % 251)
	}

	var mu sync.Mutex
	var current *generation
	var retired []*generation
	goaway := func() {
		mu.Lock()
		old := current
		current = newGeneration(old.base.Handler, uint32(*maxStreams))
		retired = append(retired, old)
		mu.Unlock()
		go old.base.Shutdown(context.Background())
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/_counts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		json.NewEncoder(w).Encode(counts.snapshot())
	})
	mux.HandleFunc("/_goaway", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		// After this answer is on its way: the GOAWAY reaches this connection too.
		time.AfterFunc(10*time.Millisecond, goaway)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		counts.add(r.URL.Path)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Header().Set("content-type", "application/octet-stream")
		if size := r.Header.Get("x-response-size"); size != "" {
			n, err := strconv.Atoi(size)
			if err != nil || n < 0 {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("content-length", strconv.Itoa(n))
			w.WriteHeader(http.StatusOK)
			for n > 0 {
				chunk := pattern
				if n < len(chunk) {
					chunk = chunk[:n]
				}
				w.Write(chunk)
				n -= len(chunk)
			}
			return
		}
		w.Header().Set("content-length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
	current = newGeneration(mux, uint32(*maxStreams))

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	}
	fmt.Printf("listening %s\n", listener.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		listener.Close()
		mu.Lock()
		all := append(retired, current)
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, g := range all {
			g.base.Shutdown(ctx)
		}
		os.Exit(0)
	}()

	for {
		conn, err := listener.Accept()
		if err != nil {
			select {
			case <-stop:
			default:
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go func() {
			tlsConn := tls.Server(conn, tlsConfig)
			tlsConn.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tlsConn.Handshake(); err != nil {
				conn.Close()
				return
			}
			tlsConn.SetDeadline(time.Time{})
			if tlsConn.ConnectionState().NegotiatedProtocol != "h2" {
				conn.Close()
				return
			}
			mu.Lock()
			g := current
			mu.Unlock()
			g.h2.ServeConn(tlsConn, &http2.ServeConnOpts{BaseConfig: g.base, Handler: g.base.Handler})
		}()
	}
}
