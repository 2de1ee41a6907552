"""The differential test of issue 10: Compose itself is the oracle for the grader's static checks.

``generator`` writes small submission folders from variations of one correct submission,
``oracle`` computes what the rubric says about each from `docker compose config`, and
``tests/test_differential.py`` asserts that ``grader.grade(folder, mode="static")`` agrees.
"""
