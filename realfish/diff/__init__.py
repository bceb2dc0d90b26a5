"""`realfish diff`: the same questions asked of Batfish (a model) and of realfish (the real router software),
every differing row listed, and each difference traced to its cause in the emulated routers' own state.

`sources` gets Batfish's answers (stored files or a live service), `questions` turns a question name and its
parameters into the question JSON both sides answer, `rows` matches rows on the question's key columns,
`explain` finds causes, `report` assembles the JSON document; `text` and `page` render it.
"""
