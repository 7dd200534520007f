// Command portalsim runs a simulated vendor management portal on loopback,
// for demos of activator and for trying it without touching the real
// portal. Its behaviour and assumptions are documented in package sim.
package main

import (
	"os"

	"github.com/activator-dev/activator/internal/sim"
)

func main() {
	os.Exit(sim.Main(os.Args[1:], os.Stdout, os.Stderr))
}
