from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "ewatercycle_experiment_launcher" / "__init__.py").read_text(), version)

setup(
    name="ewatercycle_experiment_launcher",
    version=version["__version__"],
    description="Web service that generates a Jupyter notebook and opens it on JupyterHub",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    url="https://github.com/eWaterCycle/experiment-launcher",
    license="Apache-2.0",
    packages=find_packages(include=["ewatercycle_experiment_launcher*"]),
    package_data={
        "ewatercycle_experiment_launcher": [
            "openapi.yaml",
            "notebooks/steps/*.py",
            "browser/templates/*.html",
            "browser/static/*",
        ]
    },
    python_requires=">=3.10",
    install_requires=[
        "connexion[flask,swagger-ui,uvicorn]==3.3.*",
        "uvicorn-worker>=0.2",
        "gunicorn>=25.1",  # --no-control-socket
        "requests>=2.31",
        "nbformat>=5.9",
        "limits>=4",
        "redis==8.*",
        "prometheus-client>=0.20",
        "python-pam>=2.0",
        "anyio>=4",
        "jupyterhub>=5",
        "flask-wtf>=1.2",
    ],
    entry_points={
        "console_scripts": [
            "ewatercycle-experiment-launcher = ewatercycle_experiment_launcher.cli:main",
        ]
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Jupyter :: JupyterHub",
    ],
)
