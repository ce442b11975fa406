# quotes " and \\ backslash, {{ jinja }} and {% block %}
DOC = """
---
...
"""
x = "\t"	# a tab
def handler(input, context):   
    return {"café": "✓"}