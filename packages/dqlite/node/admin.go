package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/canonical/go-dqlite/client"
)

// admin runs a membership command against the cluster's leader and returns
// the exit code: members (prints id, address, role per line) or remove
// (takes a node, dead or alive, out of the cluster).
func admin(command string, args []string) int {
	set := flag.NewFlagSet(command, flag.ContinueOnError)
	cluster := set.String("cluster", "", "comma-separated addresses of nodes of the cluster, any of them (required)")
	node := set.String("node", "", "remove: the address of the node to take out")
	timeout := set.Duration("timeout", 30*time.Second, "how long to look for the leader and wait for its answer")
	certs := tlsFlags(set)
	if err := set.Parse(args); err != nil {
		return 2
	}
	if command != "members" && command != "remove" {
		fmt.Fprintf(os.Stderr, "litepool-dqlite-node: unknown command %q (members, remove; or flags to run a node)\n", command)
		return 2
	}
	if *cluster == "" || (command == "remove" && *node == "") {
		fmt.Fprintln(os.Stderr, "litepool-dqlite-node: --cluster is required (and --node for remove)")
		return 2
	}
	_, dial, err := certs.configs(false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "litepool-dqlite-node: "+err.Error())
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	store := client.NewInmemNodeStore()
	var seeds []client.NodeInfo
	for _, address := range splitList(*cluster) {
		seeds = append(seeds, client.NodeInfo{Address: address})
	}
	if err := store.Set(ctx, seeds); err != nil {
		return fail(err)
	}
	dialFunc := client.DefaultDialFunc
	if dial != nil {
		dialFunc = client.DialFuncWithTLS(dialFunc, dial)
	}
	leader, err := client.FindLeader(ctx, store, client.WithDialFunc(dialFunc))
	if err != nil {
		return fail(fmt.Errorf("find the leader: %w", err))
	}
	defer leader.Close()
	nodes, err := leader.Cluster(ctx)
	if err != nil {
		return fail(err)
	}
	if command == "members" {
		for _, n := range nodes {
			fmt.Printf("%d %s %s\n", n.ID, n.Address, n.Role)
		}
		return 0
	}
	for _, n := range nodes {
		if n.Address == *node {
			if err := leader.Remove(ctx, n.ID); err != nil {
				return fail(fmt.Errorf("remove %s: %w", *node, err))
			}
			fmt.Printf("removed %d %s\n", n.ID, n.Address)
			return 0
		}
	}
	return fail(fmt.Errorf("%s is not a member of the cluster", *node))
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "litepool-dqlite-node: "+err.Error())
	return 1
}
