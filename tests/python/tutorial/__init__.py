"""The Python library's tutorial (Part 4, systems), as its documentation writes it: the
module path `tutorial.domainmodel` is in the topics both libraries store."""
