"""The cutter: turns segments and time ranges into one video file (SPEC §7).

:mod:`.plan` decides what to do (pure); :mod:`.run` runs ffmpeg and streams its output.
"""
