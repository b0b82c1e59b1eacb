"""Reserved-project and evaluation-repository exclusion shared by the corpus
scripts. A name matches a package name or a path component when its tokens
(split on - _ . @ /) appear as a contiguous run of the other's tokens:
'flask' drops python3-flask-sqlalchemy, flask_login/ and node_modules/@x/flask,
'serde' drops serde_json-1.0.152/, 'gin' drops github.com/gin-gonic/."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT = re.compile(r"[-_.@/+ ]+")


def tokens(s):
    return [t for t in SPLIT.split(s.lower()) if t]


class Reserved:
    def __init__(self, names):
        self.names = sorted({n.strip().lower() for n in names if n.strip()})
        self.toks = [tokens(n) for n in self.names]
        self.single = {t[0] for t in self.toks if len(t) == 1}
        self.multi = [t for t in self.toks if len(t) > 1]

    @classmethod
    def load(cls, extra=()):
        names = []
        with open(os.path.join(HERE, "reserved.txt")) as fh:
            for line in fh:
                line = line.split("#", 1)[0].strip()
                if line:
                    names.append(line)
        return cls(list(names) + list(extra))

    def _hit(self, toks):
        if any(t in self.single for t in toks):
            return True
        for m in self.multi:
            n = len(m)
            for i in range(len(toks) - n + 1):
                if toks[i:i + n] == m:
                    return True
        return False

    def name_hit(self, name):
        """Package name (python3-flask-login, librust-serde-json-dev ...)."""
        return self._hit(tokens(name))

    def path_hit(self, path):
        """Any path component (directory or file stem) names a reserved project."""
        for comp in path.lower().split("/"):
            if comp and self._hit(tokens(comp)):
                return True
        return False
