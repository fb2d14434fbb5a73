"""Grading: outcomes decided where the learner's code never runs.

The trusted side (the grader's process): engine (the run: pristine copy, collection, canaries,
the child, verdicts), checks (the grader's own checks: prepare and judge), review (a static
read of the submission), points and report (scores and formats), sandbox (how the child is
started and ended).

The learner's side (the child process, which runs pytest with the learner's modules): child
(the pytest plugin that reports through the channel), integrity (has the machinery changed?),
and the act part of the checks. channel is the one way data crosses between the two.

The commands around them: grade (`kata grade`), gradescope and classroom50 (the platforms'
bundles), manifest (tamper evidence) and handout (the kata for learners).
"""
