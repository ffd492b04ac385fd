package chans_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/turnstile-go/turnstile/chans"
)

// site stands in for the network in the TaskGroup examples.
var site = map[string]string{
	"/":      "home",
	"/docs":  "documentation",
	"/blog":  "posts",
	"/about": "about us",
}

var errNotFound = errors.New("404 not found")

func fetch(ctx context.Context, url string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	page, ok := site[url]
	if !ok {
		return "", fmt.Errorf("%s: %w", url, errNotFound)
	}
	return page, nil
}

// Fetch a list of pages, at most 4 at once, stopping at the first failure:
// the fan-out that errgroup with SetLimit is used for. The pages come back
// in the order of the urls.
func ExampleTaskGroup() {
	ctx := context.Background()
	urls := []string{"/", "/docs", "/blog", "/about"}

	g := chans.NewTaskGroup[string](ctx, 4, chans.CancelOnFailure)
	defer g.Cancel()
	for _, url := range urls {
		g.Go(func(ctx context.Context) (string, error) { return fetch(ctx, url) })
	}
	pages, err := g.Collect(ctx)

	fmt.Println(pages, err)
	// Output: [home documentation posts about us] <nil>
}

// With KeepGoing every task runs and every failure is kept: errors.Is and
// errors.As find each one in Err.
func ExampleTaskGroup_keepGoing() {
	ctx := context.Background()
	g := chans.NewTaskGroup[string](ctx, 2, chans.KeepGoing)
	defer g.Cancel()
	for _, url := range []string{"/", "/missing", "/docs", "/gone"} {
		g.Go(func(ctx context.Context) (string, error) { return fetch(ctx, url) })
	}
	pages, err := g.Collect(ctx)
	fmt.Printf("%q\n", pages)
	fmt.Println(errors.Is(err, errNotFound), strings.Count(err.Error(), "404"))
	// Output:
	// ["home" "" "documentation" ""]
	// true 2
}

// Start waits for a slot through a channel, so it composes with select and
// gives up with its ctx; a start that gave up took no slot and ran nothing.
func ExampleTaskGroup_Start() {
	ctx := context.Background()
	g := chans.NewTaskGroup[int](ctx, 1, chans.KeepGoing)
	defer g.Cancel()

	hold := make(chan struct{})
	<-g.Start(ctx, func(context.Context) (int, error) { <-hold; return 1, nil })

	// The only slot is taken: this start waits, and gives up.
	giveUp, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := g.Start(giveUp, func(context.Context) (int, error) { return 2, nil })
	select {
	case <-ch:
		fmt.Println("started")
	default:
		cancel()
		_, ok := <-ch
		fmt.Println("started:", ok)
	}
	close(hold)
	<-g.Wait()
	fmt.Println("tasks:", g.Len())
	// Output:
	// started: false
	// tasks: 1
}

// Completed yields each task's Result as it settles, while the others still
// run; i is the task's place in submission order.
func ExampleTaskGroup_Completed() {
	ctx := context.Background()
	g := chans.NewTaskGroup[int](ctx, 0, chans.KeepGoing)
	defer g.Cancel()
	steps := make([]chan struct{}, 3)
	for i := range steps {
		steps[i] = make(chan struct{})
		g.Go(func(context.Context) (int, error) { <-steps[i]; return i * 10, nil })
	}
	close(steps[2]) // the last submitted finishes first
	for i, r := range g.Completed(ctx) {
		v, _ := r.TryGet()
		fmt.Println("task", i, "gave", v)
		if i == 2 {
			close(steps[0])
		} else if i == 0 {
			close(steps[1])
		}
	}
	// Output:
	// task 2 gave 20
	// task 0 gave 0
	// task 1 gave 10
}

// A task that panics fails with a *chans.PanicError carrying the stack; the
// program goes on and the other tasks are unaffected.
func ExampleTaskGroup_panic() {
	ctx := context.Background()
	g := chans.NewTaskGroup[int](ctx, 0, chans.KeepGoing)
	defer g.Cancel()
	g.Go(func(context.Context) (int, error) { return 1, nil })
	g.Go(func(context.Context) (int, error) {
		var counts []int
		return counts[1], nil // index out of range
	})
	vs, err := g.Collect(ctx)
	var pe *chans.PanicError
	fmt.Println(vs, errors.As(err, &pe), pe.Value)
	// Output: [1 0] true runtime error: index out of range [1] with length 0
}
