#!/bin/sh
echo "entrypoint started as $(id -un)"
