package main

// The known causes of missed targets, each printed in BENCHMARKS.md only when
// its target is missed in that run, above the profiles taken in the same run,
// so that a reader can check the explanation against the evidence.

const (
	whyLockChannel      = `TODO`
	whySemaphoreChannel = `TODO`
	whyLockWait         = `TODO`
	whySemaphoreWait    = `TODO`
	whyQueueWait        = `TODO`
	whyQueueTry         = `TODO`
	whyContended        = `TODO`
	whyFirstLocks       = `TODO`
	whyCrowd            = `TODO`
	whySelectLoop       = `TODO`
	whyHandoff          = `TODO`
	whyFanout           = `TODO`
	whyPipeline         = `TODO`
	whyLatch            = `TODO`
	whyQueueChannel     = `TODO`
	whyUnbounded        = `TODO`
	whyFirstChannels    = `TODO`
)
