import os
import sys

print("python app started", sys.version.split()[0], os.environ.get("GREETING", ""))
