package chans_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/turnstile-go/turnstile/chans"
)

// A Result is set once and read by any number of goroutines.
func ExampleResult() {
	var answer chans.Result[int]
	go func() { answer.Set(42) }()

	v, ok := <-answer.Get(context.Background())
	fmt.Println(v, ok)

	v, err := answer.TryGet() // later reads do not wait
	fmt.Println(v, err, answer.Set(7))
	// Output:
	// 42 true
	// 42 <nil> chans: result already set
}

// A failed Result has no value: Get closes empty, TryGet returns the
// failure, and Done is closed as for a value.
func ExampleResult_Fail() {
	var r chans.Result[string]
	_, err := r.TryGet()
	fmt.Println(errors.Is(err, chans.ErrNotReady))

	r.Fail(errors.New("backend unreachable"))
	<-r.Done()
	_, ok := <-r.Get(context.Background())
	_, err = r.TryGet()
	fmt.Println(ok, err)
	// Output:
	// true
	// false backend unreachable
}

// Result.Wait is the blocking twin of Get, and also returns the failure.
func ExampleResult_Wait() {
	r := chans.Go(context.Background(), func(context.Context) (int, error) {
		return 0, errors.New("no answer")
	})
	_, err := r.Wait(context.Background())
	fmt.Println(err)
	// Output: no answer
}
