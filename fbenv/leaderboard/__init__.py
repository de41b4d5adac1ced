"""Leaderboards whose numbers anyone can re-check.

A *suite* (:mod:`~fbenv.leaderboard.suites`) fixes envs, feedback conditions, seeds and turns;
``fbenv eval --suite NAME`` runs one. A *bundle* (:mod:`~fbenv.leaderboard.bundle`) packs a run's
transcripts, verdicts, feedback and claimed metrics into one JSON file. *Verification*
(:mod:`~fbenv.leaderboard.replay`) replays every transcript in fresh envs and accepts the bundle only
when everything matches. The *board* (:mod:`~fbenv.leaderboard.board`) files accepted bundles and
renders the README tables; :mod:`~fbenv.leaderboard.site` renders the static HTML page.
See ``docs/leaderboard.md``.
"""
