"""Architecture numbers (issue 13): largest module, longest function, views and commands over
15 lines. Usage: python scripts/architecture_metrics.py [REPO_ROOT]"""
import ast, sys
from pathlib import Path
root = Path(sys.argv[1] if len(sys.argv) > 1 else ".") / "locator"
mods = []
funcs = []
views = []
spans = []
for p in sorted(root.rglob("*.py")):
    if "migrations" in p.parts: continue
    text = p.read_text(encoding="utf-8")
    n = len(text.splitlines())
    mods.append((n, str(p.relative_to(root.parent))))
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # body length without docstring
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
                body = body[1:]
            if not body: continue
            length = body[-1].end_lineno - body[0].lineno + 1
            funcs.append((length, f"{p.relative_to(root.parent)}:{node.lineno} {node.name}"))
            spans.append(node.end_lineno - node.lineno + 1)
            decos = [ast.unparse(d) for d in node.decorator_list]
            if any(d.startswith(("bp.", "app.", "click.", "group.", "cli.", "demand_group.", "users_group.", "export_group.", "import_group.", "geodata_group.", "demo_group.")) or ".command" in d or ".route" in d or ".get(" in d or ".post(" in d for d in decos):
                if length > 15:
                    views.append((length, f"{p.relative_to(root.parent)}:{node.lineno} {node.name}"))
mods.sort(reverse=True); funcs.sort(reverse=True); views.sort(reverse=True)
print("largest modules:", mods[:5])
print("modules > 600 lines:", sum(1 for n, _ in mods if n > 600))
print("longest functions:", funcs[:5])
print("functions > 50 lines:", sum(1 for n, _ in funcs if n > 50))
print("views/commands > 15 lines:", len(views), views[:12])
print("functions > 50 lines counting def line, docstring, comments:", sum(1 for n in spans if n > 50))


def numpydoc_counts(package: Path) -> tuple[int, int, int]:
    """(public core functions, with a docstring, with numpydoc sections) — faces excluded."""
    faces = {"web.py", "pages.py", "api.py", "demand_web.py", "cli.py", "app.py"}
    total = documented = numpydoc = 0
    for p in sorted(package.rglob("*.py")):
        if "migrations" in p.parts or p.name in faces or p.parent.name == "web":
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            nodes += [n for n in cls.body if isinstance(n, ast.FunctionDef)]
        for node in nodes:
            if node.name.startswith("_"):
                continue
            total += 1
            doc = ast.get_docstring(node) or ""
            documented += bool(doc)
            numpydoc += any(s in doc for s in ("Parameters\n", "Returns\n", "Attributes\n",
                                                "Examples\n", "Raises\n"))
    return total, documented, numpydoc


print("public core functions/classes (total, with docstring, with numpydoc sections):",
      numpydoc_counts(root))
