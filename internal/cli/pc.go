package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/switchboard/switchboard/peerconnection"
)

// pcIntro is the top of `pc --help`; the flags follow it.
const pcIntro = `Usage: switchboard pc [flags]
       switchboard pc [flags] --send ID MESSAGE

A command-line member of a WebRTC peerconnection signaling channel, speaking
the protocol byte for byte as WebRTC's native peerconnection_client does. It
signs in and lists the other members. Without --send it then prints every
presence change and message until interrupted (Ctrl-C), and signs out.

Output lines:
  signed in as NAME with id ID
  peer ID NAME                   a member already there
  online ID NAME / offline ID NAME
  message from ID (NAME): BODY
  sent N bytes to ID
`

// runPC is `switchboard pc`: a command-line member of a peerconnection
// signaling channel.
func runPC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pc")
	serverURL := fs.String("server", "http://localhost:8888", "peerconnection server `URL` (http://host:port, host:port or host)")
	name := fs.String("name", defaultPCName(), "member `name`, sent raw as the native client sends it")
	send := fs.Int("send", 0, "send the MESSAGE argument to the member with this `id`, then sign out and exit")
	if err := parseFlags(fs, args, pcIntro, stdout, stderr); err != nil {
		return err
	}

	var msg string
	switch {
	case *send < 0:
		return fmt.Errorf("--send must be a member id, got %d", *send)
	case *send > 0 && fs.NArg() == 0:
		return errors.New("--send needs a MESSAGE argument")
	case *send > 0:
		msg = strings.Join(fs.Args(), " ")
	case fs.NArg() > 0:
		return fmt.Errorf("pc takes arguments only with --send, got %q", strings.Join(fs.Args(), " "))
	}
	if *name == "" {
		return errors.New("--name must not be empty")
	}

	c, peers, err := peerconnection.SignIn(ctx, *serverURL, *name)
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	names := map[int]string{}
	fmt.Fprintf(stdout, "signed in as %s with id %d\n", c.Name(), c.ID())
	for _, p := range peers {
		names[p.ID] = p.Name
		fmt.Fprintf(stdout, "peer %d %s\n", p.ID, p.Name)
	}
	signOut := func() error {
		// The caller's context may be cancelled already (Ctrl-C).
		if err := c.SignOut(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
		return nil
	}

	if *send > 0 {
		if err := c.Send(ctx, *send, []byte(msg)); err != nil {
			_ = signOut()
			return fmt.Errorf("send to %d: %w", *send, err)
		}
		fmt.Fprintf(stdout, "sent %d bytes to %d\n", len(msg), *send)
		return signOut()
	}

	for {
		ev, err := c.Wait(ctx)
		switch {
		case ctx.Err() != nil:
			return signOut()
		case err != nil:
			return fmt.Errorf("wait: %w", err)
		case ev.Presence != nil:
			p := ev.Presence
			if p.Connected {
				names[p.ID] = p.Name
				fmt.Fprintf(stdout, "online %d %s\n", p.ID, p.Name)
			} else {
				delete(names, p.ID)
				fmt.Fprintf(stdout, "offline %d %s\n", p.ID, p.Name)
			}
		case ev.From < 0:
			fmt.Fprintf(stdout, "server: %s\n", ev.Body)
			return nil
		default:
			from := names[ev.From]
			if from == "" {
				from = "?"
			}
			fmt.Fprintf(stdout, "message from %d (%s): %s\n", ev.From, from, ev.Body)
		}
	}
}

// defaultPCName is the native client's default: USER@hostname.
func defaultPCName() string {
	user := os.Getenv("USER")
	if user == "" {
		user = "user"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	return user + "@" + host
}
