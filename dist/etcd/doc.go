// Package etcd is turnstile's engine for etcd.
package etcd
