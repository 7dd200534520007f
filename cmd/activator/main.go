// Command activator activates a SMART on FHIR app at every organization on
// Epic's vendor management portal. See the README.
package main

import (
	"os"

	"github.com/activator-dev/activator/internal/cli"
)

func main() { os.Exit(cli.Main()) }
