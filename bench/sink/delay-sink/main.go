// The latency benchmark's sink (bench/latency.ts): Go's golang.org/x/net/http2 server that
// answers after a fixed delay, as a distant APNs or FCM would. Go, not Node: one Node process
// tops out near 25k HTTP/2 answers/s on this kind of machine, below what the senders reach, and
// the sink must not be the limit (the bench measures its ceiling with h2load in the same run).
// Built offline against Debian's golang-golang-x-net-dev by bench/sink/delay-sink.ts:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o delay-sink ./main.go
//
// It serves HTTPS (h2 only) on -addr and prints "listening <host:port>" once ready:
//   - POST /3/device/<token>            → after -delay: 200, apns-id (APNs);
//   - POST /token                       → at once: 200 {"access_token": …} (Google OAuth);
//   - POST /v1/projects/<p>/messages:send → after -delay: 200 {"name": "projects/<p>/messages/<n>"} (FCM);
//   - anything else: 404.
//
// SIGTERM or SIGINT: exit.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	certFile := flag.String("cert", "", "server certificate (PEM)")
	keyFile := flag.String("key", "", "server private key (PEM)")
	delay := flag.Duration("delay", 100*time.Millisecond, "time before each push is answered")
	maxStreams := flag.Uint("max-concurrent-streams", 1000, "SETTINGS_MAX_CONCURRENT_STREAMS (APNs: 1000)")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	var ids uint64
	mux := http.NewServeMux()
	mux.HandleFunc("/3/device/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(*delay)
		id := atomic.AddUint64(&ids, 1)
		w.Header().Set("apns-id", fmt.Sprintf("00000000-0000-0000-0000-%012x", id))
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("content-type", "application/json")
		w.Write([]byte(`{"access_token":"bench-access-token","expires_in":3600,"token_type":"Bearer"}`))
	})
	mux.HandleFunc("/v1/projects/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !strings.HasSuffix(r.URL.Path, "/messages:send") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		time.Sleep(*delay)
		project := strings.TrimPrefix(r.URL.Path, "/v1/projects/")
		project = project[:strings.Index(project, "/")]
		id := atomic.AddUint64(&ids, 1)
		body := `{"name":"projects/` + project + `/messages/0:` + strconv.FormatUint(id, 10) + `"}`
		w.Header().Set("content-type", "application/json; charset=UTF-8")
		w.Header().Set("content-length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(body))
	})

	base := &http.Server{Handler: mux}
	h2 := &http2.Server{MaxConcurrentStreams: uint32(*maxStreams)}
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
		os.Exit(0)
	}()
	for {
		conn, err := listener.Accept()
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go func() {
			tlsConn := tls.Server(conn, tlsConfig)
			if err := tlsConn.Handshake(); err != nil || tlsConn.ConnectionState().NegotiatedProtocol != "h2" {
				conn.Close()
				return
			}
			h2.ServeConn(tlsConn, &http2.ServeConnOpts{BaseConfig: base, Handler: mux})
		}()
	}
}
