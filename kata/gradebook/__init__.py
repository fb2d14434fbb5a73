"""Grading a class: `kata class` grades a folder of submissions (or reads what Gradescope and
Classroom 50 already graded), then writes the gradebook and the class report.

    submissions.py  what a class folder holds: a folder, a zip or a notebook per learner
    platforms.py    the results Gradescope's export and Classroom 50's scores already hold
    book.py         one row per learner, read from a results.json; gradebook.csv
    report.py       the class report: one HTML page and its figures as PNG
    run.py          `kata class`: every submission graded in its own process, resumable
"""
