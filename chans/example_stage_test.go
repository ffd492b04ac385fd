package chans_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/turnstile-go/turnstile/chans"
)

// A pipeline of three parts on bounded queues: a source of words, a stage
// that upper-cases them with 3 workers, keeping their order, and a sink. The
// bounds give backpressure; each queue is shut down when the part feeding it
// is done, so the pipeline drains and ends by itself.
func ExamplePipeline() {
	p := chans.NewPipeline(context.Background())
	words := chans.NewQueue[string](2)
	shouts := chans.NewQueue[string](2)

	chans.Source(p, words, strings.FieldsSeq("no item is ever lost"))
	chans.OrderedStage(p, words, shouts, 3, func(_ context.Context, w string) (string, error) {
		return strings.ToUpper(w), nil
	})
	chans.Sink(p, shouts, 1, func(_ context.Context, s string) error {
		fmt.Println(s)
		return nil
	})
	err := p.Run()
	fmt.Println("err:", err, "dropped:", p.Dropped())
	// Output:
	// NO
	// ITEM
	// IS
	// EVER
	// LOST
	// err: <nil> dropped: 0
}
