"""A second oracle: the release's own Go functions, asked many questions per process start.

build.py      fixtures/oracle/ (our Go module requiring go.temporal.io/server at the exact release) built
              into the cache per release, under a file lock, with the line's toolchain
client.py     the program as a child process: JSON lines in and out, answers in order, timeouts
questions.py  questions in the model's terms (key sources per refresh round, tokens and calls, Host
              patterns, raw HTTP requests) and answers as the model's values (KeyRing, Outcome)

The live server stays the judge: a disagreement between the model and this oracle is replayed live.
"""
