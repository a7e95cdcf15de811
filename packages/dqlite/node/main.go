// litepool-dqlite-node: a dqlite node and nothing else, for apps that reach
// the cluster with @litepool/dqlite. It joins (or starts) the cluster, keeps
// its data in --dir, and on SIGTERM/SIGINT hands its leadership and voting
// role to another node before it stops, so a rolling restart loses no quorum.
//
//	litepool-dqlite-node --address 10.0.0.1:9001 --dir /var/lib/litepool-dqlite
//	litepool-dqlite-node --address 10.0.0.2:9001 --dir /var/lib/litepool-dqlite --join 10.0.0.1:9001
//
// With --tls-cert and --tls-key every connection, node to node and client to
// node, is mutual TLS: peers must present a certificate signed by --tls-ca
// (or, without it, the same certificate: one cluster certificate), and
// plaintext is refused. The admin commands (see admin.go) manage membership:
//
//	litepool-dqlite-node members --cluster 10.0.0.1:9001
//	litepool-dqlite-node remove --cluster 10.0.0.1:9001 --node 10.0.0.3:9001
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/canonical/go-dqlite/app"
	"github.com/canonical/go-dqlite/client"
)

func main() {
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		os.Exit(admin(os.Args[1], os.Args[2:]))
	}
	address := flag.String("address", "", "host:port this node listens on for clients and other nodes (required)")
	dir := flag.String("dir", "", "directory of this node's data (required; created if missing)")
	join := flag.String("join", "", "comma-separated addresses of nodes already in the cluster (empty: start a new cluster)")
	voters := flag.Int("voters", 3, "how many nodes vote (odd, at least 3; the others stand by)")
	latency := flag.Int("network-latency-ms", 50, "average one-way latency between nodes, in ms: dqlite derives its heartbeat and election timeouts from it (a lost leader is replaced in about 15 to 30 times this)")
	verbose := flag.Bool("verbose", false, "log dqlite's messages")
	certs := tlsFlags(flag.CommandLine)
	flag.Parse()
	if *latency < 1 || *latency > 3_600_000 {
		usageError("--network-latency-ms must be from 1 to 3600000")
	}
	if *address == "" || *dir == "" {
		flag.Usage()
		usageError("--address and --dir are required")
	}
	listen, dial, err := certs.configs(true)
	if err != nil {
		usageError(err.Error())
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		log.Fatalf("litepool-dqlite-node: %v", err)
	}
	logf := func(level client.LogLevel, format string, args ...interface{}) {
		if *verbose || level >= client.LogWarn {
			log.Printf("%s %s: %s", *address, level, fmt.Sprintf(format, args...))
		}
	}
	options := []app.Option{app.WithAddress(*address), app.WithCluster(splitList(*join)), app.WithVoters(*voters), app.WithLogFunc(logf),
		app.WithNetworkLatency(time.Duration(*latency) * time.Millisecond)}
	if listen != nil {
		options = append(options, app.WithTLS(listen, dial))
	}
	node, err := app.New(*dir, options...)
	if err != nil {
		log.Fatalf("litepool-dqlite-node: %v", err)
	}
	ready, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := node.Ready(ready); err != nil {
		log.Fatalf("litepool-dqlite-node: not ready within a minute: %v", err)
	}
	log.Printf("litepool-dqlite-node %s: ready (id %d, tls %t)", *address, node.ID(), listen != nil)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	handover, cancelHandover := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelHandover()
	if err := node.Handover(handover); err != nil {
		log.Printf("litepool-dqlite-node %s: handover: %v", *address, err)
	}
	if err := node.Close(); err != nil {
		log.Printf("litepool-dqlite-node %s: close: %v", *address, err)
	}
}

func splitList(list string) []string {
	var items []string
	for _, item := range strings.Split(list, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func usageError(message string) {
	fmt.Fprintln(os.Stderr, "litepool-dqlite-node: "+message)
	os.Exit(2)
}
