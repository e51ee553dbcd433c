from permctl.cli import main

main()
