# quotes " and \\ backslash, {{ jinja }} and {% block %}
---
...
x = "\t"	# a tab
def handler(input, context):   
    return {"café": "✓"}