//go:build tools

// Package tools pins the etcd server command scripts/install-kube.sh builds from this module.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
