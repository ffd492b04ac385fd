package chans_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/turnstile-go/turnstile/chans"
)

// A task is a function run in its own goroutine; its Result is how others
// wait for it (kiwi's WaitForTasklet).
func ExampleGo() {
	ctx := context.Background()
	sum := chans.Go(ctx, func(ctx context.Context) (int, error) {
		total := 0
		for i := 1; i <= 10; i++ {
			total += i
		}
		return total, nil
	})
	v, ok := <-sum.Get(ctx)
	fmt.Println(v, ok)
	// Output: 55 true
}

// A panic in a task does not bring the program down: it becomes the task's
// failure, with the panic value and the stack.
func ExampleGo_panic() {
	r := chans.Go(context.Background(), func(context.Context) (int, error) {
		var none []int
		return none[3], nil
	})
	<-r.Done()
	_, err := r.TryGet()
	var pe *chans.PanicError
	if errors.As(err, &pe) {
		fmt.Println("task panicked:", pe.Value)
	}
	// Output: task panicked: runtime error: index out of range [3] with length 0
}
