"""The instructor's proofs that the tests and the grades can be trusted: learner mistakes
planted and caught (mistakes, mutants), dishonest submissions graded and stopped (cheats,
attacks), correct alternatives (variants), the suite under many seeds and orders (flaky,
verify, runner), the capstone's threshold (calibrate), and the demo's speed against the
pytorch/examples recipe (bench, baseline). A handout leaves this folder out."""
