// Package brokertest is the behaviour suite of broker.Broker: what every
// implementation must do, whatever it stores and wherever it runs.
//
// An implementation's test calls Run with a factory that builds a fresh
// broker for each test from a Config (the rules and limits the test
// needs). The suite asks nothing an implementation may leave out, so it
// has no skips: an implementation that cannot honour a Config field does
// not pass. It checks the contract written on broker.Broker, the relaxed
// one: a subscriber may see a publication before its subscribe result or
// twice, and the suite's subscribers de-duplicate by offset as the
// clients do. What only broker.Memory promises (the result first, no
// duplicate) is tested in package broker.
//
// broker.Memory runs the suite in memory_suite_test.go of package broker;
// simple_test.go here runs it against a small independent implementation,
// written from the exported API alone, to keep that API open.
package brokertest
