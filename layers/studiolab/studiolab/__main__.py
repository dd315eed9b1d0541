from studiolab.runtime.cli import main

main()
