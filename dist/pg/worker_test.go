package pg_test

// Placeholder replaced below.
const envRole = "TURNSTILE_PG_ROLE"

func workerMain(role string) int { return 2 }
