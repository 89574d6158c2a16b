"""What a learner does with a credential: baked badge images, QR codes, links, stacks.

The modules are imported where they are used (``anchor.sharing.baking`` by the verifier, which must start
quickly), never from here.
"""
